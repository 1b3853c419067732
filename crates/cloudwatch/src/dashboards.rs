//! Dashboards: bodies validated the way CloudWatch validates them (widget types,
//! positions and sizes, the properties each type needs), kept per account.

use crate::engine::CloudWatch;
use crate::model::{Dashboard, Tag};
use crate::{Error, Result, store};
use serde::Serialize;
use serde_json::Value as J;
use sightline_core::Scope;
use sightline_wire::Timestamp;

const WIDGET_TYPES: &[&str] = &["metric", "text", "log", "alarm", "explorer", "custom"];

pub fn dashboard_arn(account: &str, name: &str) -> String {
    format!("arn:aws:cloudwatch::{account}:dashboard/{name}")
}

fn check_name(name: &str) -> Result<()> {
    if name.is_empty() || name.len() > 255 {
        return Err(Error::InvalidParameterValue(
            "The value for field DashboardName must be between 1 and 255 characters long.".into(),
        ));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(Error::InvalidParameterValue(
            "The value for field DashboardName contains invalid characters. It can only contain alphanumerics, dash (-) and underscore (_).".into(),
        ));
    }
    Ok(())
}

fn integer_in(
    w: &serde_json::Map<String, J>,
    field: &str,
    lo: i64,
    hi: i64,
    path: &str,
    out: &mut Vec<(String, String)>,
) {
    match w.get(field) {
        None => {}
        Some(v) => match v.as_i64() {
            Some(n) if (lo..=hi).contains(&n) => {}
            Some(_) => out.push((
                format!("{path}/{field}"),
                format!("Should be between {lo} and {hi}"),
            )),
            None => out.push((format!("{path}/{field}"), "Should be integer".into())),
        },
    }
}

/// Validation messages for a dashboard body, with the JSON path of each problem.
pub fn validate_body(body: &str) -> Result<Vec<(String, String)>> {
    let doc: J = serde_json::from_str(body).map_err(|_| Error::DashboardInvalidInput {
        message: "The field DashboardBody must be a valid JSON object".into(),
        messages: Vec::new(),
    })?;
    let Some(root) = doc.as_object() else {
        return Err(Error::DashboardInvalidInput {
            message: "The field DashboardBody must be a valid JSON object".into(),
            messages: Vec::new(),
        });
    };
    let mut out = Vec::new();
    match root.get("widgets") {
        None => out.push(("".into(), "Should have required property 'widgets'".into())),
        Some(J::Array(widgets)) => {
            if widgets.len() > 500 {
                out.push((
                    "/widgets".into(),
                    "Should NOT have more than 500 items".into(),
                ));
            }
            for (i, w) in widgets.iter().enumerate() {
                let path = format!("/widgets/{i}");
                let Some(w) = w.as_object() else {
                    out.push((path, "Should be object".into()));
                    continue;
                };
                let ty = w.get("type").and_then(J::as_str);
                match ty {
                    None => out.push((path.clone(), "Should have required property 'type'".into())),
                    Some(t) if !WIDGET_TYPES.contains(&t) => out.push((
                        format!("{path}/type"),
                        format!(
                            "Should be equal to one of the allowed values: {}",
                            WIDGET_TYPES.join(", ")
                        ),
                    )),
                    _ => {}
                }
                integer_in(w, "x", 0, 23, &path, &mut out);
                integer_in(w, "y", 0, i64::MAX, &path, &mut out);
                integer_in(w, "width", 1, 24, &path, &mut out);
                integer_in(w, "height", 1, 1000, &path, &mut out);
                let props = w.get("properties");
                match (ty, props) {
                    (Some(_), None) => out.push((
                        path.clone(),
                        "Should have required property 'properties'".into(),
                    )),
                    (_, Some(p)) if !p.is_object() => {
                        out.push((format!("{path}/properties"), "Should be object".into()))
                    }
                    (Some("text"), Some(p)) if p.get("markdown").is_none() => out.push((
                        format!("{path}/properties"),
                        "Should have required property 'markdown'".into(),
                    )),
                    (Some("metric"), Some(p)) => match p.get("metrics") {
                        None if p.get("annotations").is_none() && p.get("alarms").is_none() => out
                            .push((
                                format!("{path}/properties"),
                                "Should have at least one of 'metrics', 'annotations' or 'alarms'"
                                    .into(),
                            )),
                        Some(J::Array(rows)) => {
                            for (j, r) in rows.iter().enumerate() {
                                if !r.is_array() {
                                    out.push((
                                        format!("{path}/properties/metrics/{j}"),
                                        "Should be array".into(),
                                    ));
                                }
                            }
                        }
                        Some(_) => out.push((
                            format!("{path}/properties/metrics"),
                            "Should be array".into(),
                        )),
                        None => {}
                    },
                    (Some("alarm"), Some(p)) if !p.get("alarms").is_some_and(J::is_array) => out
                        .push((
                            format!("{path}/properties"),
                            "Should have required property 'alarms'".into(),
                        )),
                    (Some("log"), Some(p)) if !p.get("query").is_some_and(J::is_string) => out
                        .push((
                            format!("{path}/properties"),
                            "Should have required property 'query'".into(),
                        )),
                    _ => {}
                }
            }
        }
        Some(_) => out.push(("/widgets".into(), "Should be array".into())),
    }
    Ok(out)
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DashboardEntry {
    pub dashboard_name: String,
    pub dashboard_arn: String,
    pub last_modified: Timestamp,
    pub size: i64,
}

impl CloudWatch {
    pub fn put_dashboard(
        &self,
        scope: &Scope,
        name: &str,
        body: &str,
        tags: Option<Vec<Tag>>,
    ) -> Result<()> {
        check_name(name)?;
        if body.len() > 1 << 20 {
            return Err(Error::DashboardInvalidInput {
                message: "The field DashboardBody must not be larger than 1 MB".into(),
                messages: Vec::new(),
            });
        }
        let messages = validate_body(body)?;
        if !messages.is_empty() {
            let list: Vec<J> = messages
                .iter()
                .map(|(p, m)| serde_json::json!({"dataPath": p, "message": m}))
                .collect();
            return Err(Error::DashboardInvalidInput {
                message: format!(
                    "The dashboard body is invalid, there are {} validation errors: {}",
                    messages.len(),
                    J::Array(list)
                ),
                messages,
            });
        }
        let d = Dashboard {
            name: name.to_owned(),
            body: body.to_owned(),
            modified: Timestamp::now(),
        };
        let tags = match tags {
            Some(t) => t,
            None => self
                .dashboards
                .read()
                .get(&scope.account_id)
                .and_then(|m| m.get(name))
                .map(|(_, t)| t.clone())
                .unwrap_or_default(),
        };
        store::put_dashboard(&self.meta, &scope.account_id, &d, &tags)?;
        self.dashboards
            .write()
            .entry(scope.account_id.clone())
            .or_default()
            .insert(name.to_owned(), (d, tags));
        Ok(())
    }

    pub fn get_dashboard(&self, scope: &Scope, name: &str) -> Result<Dashboard> {
        self.dashboards
            .read()
            .get(&scope.account_id)
            .and_then(|m| m.get(name))
            .map(|(d, _)| d.clone())
            .ok_or_else(|| Error::ResourceNotFound(format!("Dashboard {name} does not exist")))
    }

    pub fn list_dashboards(
        &self,
        scope: &Scope,
        prefix: Option<&str>,
        token: Option<&str>,
    ) -> Result<(Vec<DashboardEntry>, Option<String>)> {
        if let Some(p) = prefix
            && !p
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(Error::InvalidParameterValue(
                "The value for field DashboardNamePrefix contains invalid characters. It can only contain alphanumerics, dash (-) and underscore (_).".into(),
            ));
        }
        let skip = match token {
            None => 0,
            Some(t) => t
                .strip_prefix("o")
                .and_then(|n| n.parse::<usize>().ok())
                .ok_or_else(|| {
                    Error::InvalidParameterValue("The value for field NextToken is invalid.".into())
                })?,
        };
        let all: Vec<DashboardEntry> = self
            .dashboards
            .read()
            .get(&scope.account_id)
            .map(|m| {
                m.values()
                    .filter(|(d, _)| prefix.is_none_or(|p| d.name.starts_with(p)))
                    .map(|(d, _)| DashboardEntry {
                        dashboard_name: d.name.clone(),
                        dashboard_arn: dashboard_arn(&scope.account_id, &d.name),
                        last_modified: d.modified,
                        size: d.body.len() as i64,
                    })
                    .collect()
            })
            .unwrap_or_default();
        let total = all.len();
        let page: Vec<DashboardEntry> = all.into_iter().skip(skip).take(1000).collect();
        let next = (skip + page.len() < total).then(|| format!("o{}", skip + page.len()));
        Ok((page, next))
    }

    pub fn delete_dashboards(&self, scope: &Scope, names: &[String]) -> Result<()> {
        if names.is_empty() {
            return Err(Error::InvalidParameterValue(
                "The parameter DashboardNames must contain at least one name.".into(),
            ));
        }
        {
            let all = self.dashboards.read();
            let known = all.get(&scope.account_id);
            let missing: Vec<&str> = names
                .iter()
                .filter(|n| known.is_none_or(|m| !m.contains_key(*n)))
                .map(String::as_str)
                .collect();
            if !missing.is_empty() {
                return Err(Error::ResourceNotFound(format!(
                    "The specified dashboard does not exist. [{}]",
                    missing.join(", ")
                )));
            }
        }
        store::delete_dashboards(&self.meta, &scope.account_id, names)?;
        if let Some(m) = self.dashboards.write().get_mut(&scope.account_id) {
            for n in names {
                m.remove(n);
            }
        }
        Ok(())
    }
}
