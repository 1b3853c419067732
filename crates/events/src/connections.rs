//! Connections (how to authorize against an HTTP endpoint: API key, basic auth or OAuth
//! client credentials) and API destinations (endpoint, method, rate limit), and the
//! HTTP invocation of a destination. Connection secrets are sealed under the server's
//! master key at rest and never returned.

use crate::engine::Events;
use crate::invoke::{Failure, fail};
use crate::model::{ApiDestination, Connection, ConnectionAuth, Delivery, HttpExtras, Parameter};
use crate::names;
use crate::store::{self, Table};
use crate::{Error, Result, now_ms};
use base64::Engine as _;
use serde_json::Value;
use sightline_core::{Scope, SecretSealer};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

const AUTH_TYPES: &[&str] = &["BASIC", "OAUTH_CLIENT_CREDENTIALS", "API_KEY"];
const METHODS: &[&str] = &["POST", "GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"];
/// EventBridge's default invocation rate of an API destination.
const DEFAULT_RATE: i64 = 300;

fn label(arn: &str) -> String {
    format!("events-connection:{arn}")
}

pub(crate) fn open_auth(sealer: &dyn SecretSealer, c: &Connection) -> Result<ConnectionAuth> {
    let sealed = base64::engine::general_purpose::STANDARD
        .decode(&c.sealed_auth)
        .map_err(|e| Error::Storage(format!("connection {}: {e}", c.arn)))?;
    let plain = sealer
        .open(&label(&c.arn), &sealed)
        .map_err(|e| Error::Storage(format!("connection {}: {e}", c.arn)))?;
    Ok(serde_json::from_slice(&plain)?)
}

fn seal(sealer: &dyn SecretSealer, arn: &str, auth: &ConnectionAuth) -> Result<String> {
    let plain = serde_json::to_vec(auth)?;
    let sealed = sealer
        .seal(&label(arn), &plain)
        .map_err(|e| Error::Storage(e.to_string()))?;
    Ok(base64::engine::general_purpose::STANDARD.encode(sealed))
}

/// Checks that the parameters fit the authorization type, as CreateConnection does.
fn check_auth(kind: &str, auth: &ConnectionAuth) -> Result<()> {
    if !AUTH_TYPES.contains(&kind) {
        return Err(Error::Validation(format!(
            "1 validation error detected: Value '{kind}' at 'authorizationType' failed to satisfy constraint: Member must satisfy enum value set: [BASIC, OAUTH_CLIENT_CREDENTIALS, API_KEY]"
        )));
    }
    let ok = match kind {
        "BASIC" => auth
            .basic_auth_parameters
            .as_ref()
            .is_some_and(|b| b.password.is_some()),
        "API_KEY" => auth
            .api_key_auth_parameters
            .as_ref()
            .is_some_and(|k| k.api_key_value.is_some()),
        _ => auth
            .oauth_parameters
            .as_ref()
            .is_some_and(|o| o.client_parameters.client_secret.is_some()),
    };
    if !ok {
        return Err(Error::Validation(format!(
            "The AuthParameters do not match the authorization type {kind}."
        )));
    }
    if let Some(o) = &auth.oauth_parameters
        && !matches!(o.http_method.as_str(), "GET" | "POST" | "PUT")
    {
        return Err(Error::Validation(format!(
            "1 validation error detected: Value '{}' at 'authParameters.oAuthParameters.httpMethod' failed to satisfy constraint: Member must satisfy enum value set: [GET, POST, PUT]",
            o.http_method
        )));
    }
    Ok(())
}

/// The auth parameters as Describe shows them: no secrets.
pub fn public_auth(auth: &ConnectionAuth) -> ConnectionAuth {
    let mut a = auth.clone();
    if let Some(b) = &mut a.basic_auth_parameters {
        b.password = None;
    }
    if let Some(k) = &mut a.api_key_auth_parameters {
        k.api_key_value = None;
    }
    if let Some(o) = &mut a.oauth_parameters {
        o.client_parameters.client_secret = None;
        o.oauth_http_parameters = o.oauth_http_parameters.as_ref().map(hide_secrets);
    }
    a.invocation_http_parameters = a.invocation_http_parameters.as_ref().map(hide_secrets);
    a
}

fn hide_secrets(h: &HttpExtras) -> HttpExtras {
    let hide = |list: &Option<Vec<Parameter>>| {
        list.as_ref().map(|l| {
            l.iter()
                .map(|p| Parameter {
                    value: if p.is_value_secret == Some(true) {
                        None
                    } else {
                        p.value.clone()
                    },
                    ..p.clone()
                })
                .collect()
        })
    };
    HttpExtras {
        header_parameters: hide(&h.header_parameters),
        query_string_parameters: hide(&h.query_string_parameters),
        body_parameters: hide(&h.body_parameters),
    }
}

/// Connections and API destinations are named per (account, region) and kept by ARN.
trait Named: Clone {
    fn key(&self) -> (&str, &str, &str);
}

impl Named for Connection {
    fn key(&self) -> (&str, &str, &str) {
        (&self.account, &self.region, &self.name)
    }
}

impl Named for ApiDestination {
    fn key(&self) -> (&str, &str, &str) {
        (&self.account, &self.region, &self.name)
    }
}

fn named<T: Named>(map: &BTreeMap<String, T>, scope: &Scope, name: &str) -> Option<T> {
    map.values()
        .find(|x| x.key() == (scope.account_id.as_str(), scope.region.as_str(), name))
        .cloned()
}

/// The scope's items whose names start with `prefix` and that pass `keep`, by name.
fn listed<T: Named>(
    map: &BTreeMap<String, T>,
    scope: &Scope,
    prefix: Option<&str>,
    keep: impl Fn(&T) -> bool,
) -> Vec<T> {
    let mut out: Vec<T> = map
        .values()
        .filter(|x| {
            let (account, region, name) = x.key();
            account == scope.account_id
                && region == scope.region
                && prefix.is_none_or(|p| name.starts_with(p))
                && keep(x)
        })
        .cloned()
        .collect();
    out.sort_by(|a, b| a.key().2.cmp(b.key().2));
    out
}

/// Whether `arn` is a connection of `scope` (a destination never uses another
/// account's credentials).
fn owns_connection(map: &BTreeMap<String, Connection>, scope: &Scope, arn: &str) -> bool {
    map.get(arn)
        .is_some_and(|c| c.account == scope.account_id && c.region == scope.region)
}

fn connection_not_found(name: &str) -> Error {
    Error::ResourceNotFound(format!("Connection '{name}' does not exist."))
}

fn destination_not_found(name: &str) -> Error {
    Error::ResourceNotFound(format!("An api-destination '{name}' does not exist."))
}

impl Events {
    pub fn create_connection(
        &self,
        scope: &Scope,
        name: &str,
        description: Option<String>,
        kind: &str,
        auth: ConnectionAuth,
    ) -> Result<Connection> {
        names::simple(name, "name", 64)?;
        check_auth(kind, &auth)?;
        let mut state = self.state.write();
        if named(&state.connections, scope, name).is_some() {
            return Err(Error::ResourceAlreadyExists(format!(
                "Connection {name} already exists."
            )));
        }
        let arn = names::connection_arn(
            &scope.region,
            &scope.account_id,
            name,
            &uuid::Uuid::new_v4().to_string(),
        );
        let now = now_ms();
        let c = Connection {
            name: name.to_owned(),
            arn: arn.clone(),
            account: scope.account_id.clone(),
            region: scope.region.clone(),
            description,
            authorization_type: kind.to_owned(),
            sealed_auth: seal(self.sealer.as_ref(), &arn, &auth)?,
            auth,
            state: "AUTHORIZED".into(),
            state_reason: None,
            created_ms: now,
            modified_ms: now,
            last_authorized_ms: Some(now),
        };
        store::put(&self.meta, Table::Connections, &arn, &c)?;
        state.connections.insert(arn, c.clone());
        Ok(c)
    }

    pub fn connection(&self, scope: &Scope, name: &str) -> Result<Connection> {
        names::simple(name, "name", 64)?;
        named(&self.state.read().connections, scope, name).ok_or_else(|| connection_not_found(name))
    }

    fn connection_arn_of(&self, scope: &Scope, name: &str) -> Result<String> {
        Ok(self.connection(scope, name)?.arn)
    }

    pub fn list_connections(
        &self,
        scope: &Scope,
        prefix: Option<&str>,
        state_filter: Option<&str>,
    ) -> Vec<Connection> {
        listed(&self.state.read().connections, scope, prefix, |c| {
            state_filter.is_none_or(|s| c.state == s)
        })
    }

    /// UpdateConnection: new description, type or parameters (secrets kept unless
    /// given again); the connection is authorized again.
    pub fn update_connection(
        &self,
        scope: &Scope,
        name: &str,
        description: Option<String>,
        kind: Option<&str>,
        auth: Option<ConnectionAuth>,
    ) -> Result<Connection> {
        let arn = self.connection_arn_of(scope, name)?;
        let mut state = self.state.write();
        let c = state
            .connections
            .get_mut(&arn)
            .ok_or_else(|| connection_not_found(name))?;
        let mut next = c.clone();
        if let Some(d) = description {
            next.description = Some(d);
        }
        if let Some(k) = kind {
            next.authorization_type = k.to_owned();
        }
        if let Some(a) = auth {
            next.auth = merge_auth(&c.auth, a);
        }
        check_auth(&next.authorization_type, &next.auth)?;
        next.sealed_auth = seal(self.sealer.as_ref(), &arn, &next.auth)?;
        let now = now_ms();
        next.modified_ms = now;
        next.state = "AUTHORIZED".into();
        next.last_authorized_ms = Some(now);
        store::put(&self.meta, Table::Connections, &arn, &next)?;
        *c = next.clone();
        self.tokens.lock().remove(&arn);
        Ok(next)
    }

    pub fn deauthorize_connection(&self, scope: &Scope, name: &str) -> Result<Connection> {
        let arn = self.connection_arn_of(scope, name)?;
        let mut state = self.state.write();
        let c = state
            .connections
            .get_mut(&arn)
            .ok_or_else(|| connection_not_found(name))?;
        c.state = "DEAUTHORIZED".into();
        c.modified_ms = now_ms();
        store::put(&self.meta, Table::Connections, &arn, c)?;
        self.tokens.lock().remove(&arn);
        Ok(c.clone())
    }

    pub fn delete_connection(&self, scope: &Scope, name: &str) -> Result<Connection> {
        let arn = self.connection_arn_of(scope, name)?;
        let mut state = self.state.write();
        let mut c = state
            .connections
            .remove(&arn)
            .ok_or_else(|| connection_not_found(name))?;
        store::delete(&self.meta, Table::Connections, &arn)?;
        self.tokens.lock().remove(&arn);
        c.state = "DELETING".into();
        Ok(c)
    }

    #[allow(clippy::too_many_arguments)]
    pub fn create_api_destination(
        &self,
        scope: &Scope,
        name: &str,
        description: Option<String>,
        connection_arn: &str,
        endpoint: &str,
        method: &str,
        rate: Option<i64>,
    ) -> Result<ApiDestination> {
        names::simple(name, "name", 64)?;
        check_destination(endpoint, method, rate)?;
        let mut state = self.state.write();
        if !owns_connection(&state.connections, scope, connection_arn) {
            return Err(Error::ResourceNotFound(format!(
                "Connection '{connection_arn}' does not exist."
            )));
        }
        if named(&state.destinations, scope, name).is_some() {
            return Err(Error::ResourceAlreadyExists(format!(
                "An api-destination '{name}' already exists."
            )));
        }
        let arn = names::api_destination_arn(
            &scope.region,
            &scope.account_id,
            name,
            &uuid::Uuid::new_v4().to_string(),
        );
        let now = now_ms();
        let d = ApiDestination {
            name: name.to_owned(),
            arn: arn.clone(),
            account: scope.account_id.clone(),
            region: scope.region.clone(),
            description,
            connection_arn: connection_arn.to_owned(),
            endpoint: endpoint.to_owned(),
            method: method.to_owned(),
            rate_limit: rate,
            created_ms: now,
            modified_ms: now,
        };
        store::put(&self.meta, Table::ApiDestinations, &arn, &d)?;
        state.destinations.insert(arn, d.clone());
        Ok(d)
    }

    pub fn api_destination(&self, scope: &Scope, name: &str) -> Result<ApiDestination> {
        names::simple(name, "name", 64)?;
        named(&self.state.read().destinations, scope, name)
            .ok_or_else(|| destination_not_found(name))
    }

    fn destination_arn_of(&self, scope: &Scope, name: &str) -> Result<String> {
        Ok(self.api_destination(scope, name)?.arn)
    }

    pub fn list_api_destinations(
        &self,
        scope: &Scope,
        prefix: Option<&str>,
        connection: Option<&str>,
    ) -> Vec<ApiDestination> {
        listed(&self.state.read().destinations, scope, prefix, |d| {
            connection.is_none_or(|c| d.connection_arn == c)
        })
    }

    #[allow(clippy::too_many_arguments)]
    pub fn update_api_destination(
        &self,
        scope: &Scope,
        name: &str,
        description: Option<String>,
        connection_arn: Option<String>,
        endpoint: Option<String>,
        method: Option<String>,
        rate: Option<i64>,
    ) -> Result<ApiDestination> {
        let arn = self.destination_arn_of(scope, name)?;
        let mut state = self.state.write();
        if let Some(c) = &connection_arn
            && !owns_connection(&state.connections, scope, c)
        {
            return Err(Error::ResourceNotFound(format!(
                "Connection '{c}' does not exist."
            )));
        }
        let d = state
            .destinations
            .get_mut(&arn)
            .ok_or_else(|| destination_not_found(name))?;
        let mut next = d.clone();
        next.description = description.or(next.description);
        next.connection_arn = connection_arn.unwrap_or(next.connection_arn);
        next.endpoint = endpoint.unwrap_or(next.endpoint);
        next.method = method.unwrap_or(next.method);
        next.rate_limit = rate.or(next.rate_limit);
        check_destination(&next.endpoint, &next.method, next.rate_limit)?;
        next.modified_ms = now_ms();
        store::put(&self.meta, Table::ApiDestinations, &arn, &next)?;
        *d = next.clone();
        Ok(next)
    }

    pub fn delete_api_destination(&self, scope: &Scope, name: &str) -> Result<()> {
        let arn = self.destination_arn_of(scope, name)?;
        self.state.write().destinations.remove(&arn);
        store::delete(&self.meta, Table::ApiDestinations, &arn)?;
        Ok(())
    }
}

fn merge_auth(old: &ConnectionAuth, new: ConnectionAuth) -> ConnectionAuth {
    let mut out = old.clone();
    if let Some(mut b) = new.basic_auth_parameters {
        if b.password.is_none() {
            b.password = old
                .basic_auth_parameters
                .as_ref()
                .and_then(|o| o.password.clone());
        }
        out.basic_auth_parameters = Some(b);
    }
    if let Some(mut k) = new.api_key_auth_parameters {
        if k.api_key_value.is_none() {
            k.api_key_value = old
                .api_key_auth_parameters
                .as_ref()
                .and_then(|o| o.api_key_value.clone());
        }
        out.api_key_auth_parameters = Some(k);
    }
    if let Some(mut o) = new.oauth_parameters {
        if o.client_parameters.client_secret.is_none() {
            o.client_parameters.client_secret = old
                .oauth_parameters
                .as_ref()
                .and_then(|x| x.client_parameters.client_secret.clone());
        }
        out.oauth_parameters = Some(o);
    }
    if new.invocation_http_parameters.is_some() {
        out.invocation_http_parameters = new.invocation_http_parameters;
    }
    out
}

fn check_destination(endpoint: &str, method: &str, rate: Option<i64>) -> Result<()> {
    if !METHODS.contains(&method) {
        return Err(Error::Validation(format!(
            "1 validation error detected: Value '{method}' at 'httpMethod' failed to satisfy constraint: Member must satisfy enum value set: [POST, GET, HEAD, OPTIONS, PUT, PATCH, DELETE]"
        )));
    }
    // AWS requires https; a self-hosted plane reaches plain-HTTP services on its network.
    if !(endpoint.starts_with("https://") || endpoint.starts_with("http://")) {
        return Err(Error::Validation(format!(
            "Parameter InvocationEndpoint is not valid. Reason: {endpoint} is not an HTTP(S) URL."
        )));
    }
    if let Some(r) = rate
        && r < 1
    {
        return Err(Error::Validation(format!(
            "1 validation error detected: Value '{r}' at 'invocationRateLimitPerSecond' failed to satisfy constraint: Member must have value greater than or equal to 1"
        )));
    }
    Ok(())
}

/// A value that is a JSON path into the event (`$.detail.id`) is replaced by what it
/// selects, as EventBridge does for header and query parameters.
fn dynamic(value: &str, event: &Value) -> String {
    if value.starts_with("$.")
        && let Some(v) = crate::transform::Path::parse(value).and_then(|p| p.select(event))
    {
        return match v {
            Value::String(s) => s,
            other => other.to_string(),
        };
    }
    value.to_owned()
}

/// Invokes an API destination: rate limit, authorization, the request, and the retry
/// class of its status (401, 407, 409, 429 and 5xx retry; other 4xx do not).
pub(crate) async fn call(
    me: &Arc<Events>,
    d: &Delivery,
    event: &Value,
    body: String,
) -> Result<(), Failure> {
    let (dest, conn) = {
        let state = me.state.read();
        let Some(dest) = state.destinations.get(&d.target.arn).cloned() else {
            return Err(fail(
                "ResourceNotFoundException",
                format!("API destination {} does not exist.", d.target.arn),
                false,
            ));
        };
        if dest.account != d.account || dest.region != d.region {
            return Err(fail(
                "AccessDeniedException",
                format!("API destination {} is not in the rule's account.", dest.arn),
                false,
            ));
        }
        let Some(conn) = state
            .connections
            .get(&dest.connection_arn)
            .filter(|c| c.account == dest.account && c.region == dest.region)
            .cloned()
        else {
            return Err(fail(
                "ResourceNotFoundException",
                format!("Connection {} does not exist.", dest.connection_arn),
                false,
            ));
        };
        (dest, conn)
    };
    if conn.state == "DEAUTHORIZED" {
        return Err(fail(
            "ConnectionDeauthorized",
            format!("Connection {} is deauthorized.", conn.name),
            false,
        ));
    }
    if let Some(wait) = me.take_token(&dest) {
        return Err(Failure::Throttled(wait));
    }
    let mut url = dest.endpoint.clone();
    let http_params = d.target.http_parameters.clone().unwrap_or_default();
    for v in http_params.path_parameter_values.iter().flatten() {
        if let Some(i) = url.find('*') {
            url.replace_range(i..i + 1, &dynamic(v, event));
        }
    }
    let method = reqwest::Method::from_bytes(dest.method.as_bytes())
        .map_err(|e| fail("ValidationException", e.to_string(), false))?;
    let mut query: Vec<(String, String)> = Vec::new();
    let mut headers: Vec<(String, String)> = Vec::new();
    if let Some(extra) = &conn.auth.invocation_http_parameters {
        for p in extra.header_parameters.iter().flatten() {
            if let (Some(k), Some(v)) = (&p.key, &p.value) {
                headers.push((k.clone(), v.clone()));
            }
        }
        for p in extra.query_string_parameters.iter().flatten() {
            if let (Some(k), Some(v)) = (&p.key, &p.value) {
                query.push((k.clone(), v.clone()));
            }
        }
    }
    for (k, v) in http_params.header_parameters.iter().flatten() {
        headers.push((k.clone(), dynamic(v, event)));
    }
    for (k, v) in http_params.query_string_parameters.iter().flatten() {
        query.push((k.clone(), dynamic(v, event)));
    }
    let auth = me.authorization(&conn, false).await?;
    let send = |auth: Option<(String, String)>| {
        let mut req = me
            .http
            .request(method.clone(), &url)
            .header("content-type", "application/json; charset=utf-8");
        if !query.is_empty() {
            req = req.query(&query);
        }
        for (k, v) in &headers {
            req = req.header(k.as_str(), v.as_str());
        }
        if let Some((k, v)) = auth {
            req = req.header(k, v);
        }
        if !matches!(dest.method.as_str(), "GET" | "HEAD") {
            req = req.body(body.clone());
        }
        req.send()
    };
    let mut resp = send(auth).await;
    if conn.authorization_type == "OAUTH_CLIENT_CREDENTIALS"
        && matches!(&resp, Ok(r) if r.status().as_u16() == 401)
    {
        // The token may have been revoked early: fetch a new one once.
        let fresh = me.authorization(&conn, true).await?;
        resp = send(fresh).await;
    }
    match resp {
        Ok(r) if r.status().is_success() => Ok(()),
        Ok(r) => {
            let status = r.status().as_u16();
            let text = r.text().await.unwrap_or_default();
            let retryable = matches!(status, 401 | 407 | 409 | 429) || status >= 500;
            Err(fail(
                &format!("{status}"),
                format!(
                    "Received {status} from the API destination: {}",
                    crate::deliver::truncate(&text, 256)
                ),
                retryable,
            ))
        }
        Err(e) if e.is_timeout() => Err(fail("SDK_CLIENT_ERROR", "Request timed out.", true)),
        // The URL may carry secret query parameters of the connection.
        Err(e) => Err(fail("SDK_CLIENT_ERROR", e.without_url().to_string(), true)),
    }
}

impl Events {
    /// Takes one invocation from the destination's token bucket; the wait when empty.
    fn take_token(&self, dest: &ApiDestination) -> Option<Duration> {
        let rate = dest.rate_limit.unwrap_or(DEFAULT_RATE).max(1) as f64;
        let now = now_ms();
        let mut buckets = self.buckets.lock();
        let (tokens, last) = buckets.entry(dest.arn.clone()).or_insert((rate, now));
        *tokens = (*tokens + (now - *last) as f64 / 1000.0 * rate).min(rate);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            None
        } else {
            Some(Duration::from_millis(
                ((1.0 - *tokens) / rate * 1000.0).ceil() as u64,
            ))
        }
    }

    /// The authorization header of a connection; OAuth tokens are fetched with the
    /// client credentials and cached until shortly before they expire.
    async fn authorization(
        &self,
        conn: &Connection,
        refresh: bool,
    ) -> Result<Option<(String, String)>, Failure> {
        let a = &conn.auth;
        match conn.authorization_type.as_str() {
            "API_KEY" => Ok(a.api_key_auth_parameters.as_ref().map(|k| {
                (
                    k.api_key_name.clone(),
                    k.api_key_value.clone().unwrap_or_default(),
                )
            })),
            "BASIC" => Ok(a.basic_auth_parameters.as_ref().map(|b| {
                let pair = format!("{}:{}", b.username, b.password.clone().unwrap_or_default());
                (
                    "Authorization".to_owned(),
                    format!(
                        "Basic {}",
                        base64::engine::general_purpose::STANDARD.encode(pair)
                    ),
                )
            })),
            _ => {
                let now = now_ms();
                if !refresh
                    && let Some((token, expiry)) = self.tokens.lock().get(&conn.arn)
                    && *expiry > now
                {
                    return Ok(Some(("Authorization".into(), format!("Bearer {token}"))));
                }
                let (token, expires_in) = self.fetch_token(conn).await?;
                // The endpoint's number is not trusted to be sane: at most a day.
                let seconds = expires_in.clamp(31, 86_400) - 30;
                let expiry = now.saturating_add(seconds * 1000);
                self.tokens
                    .lock()
                    .insert(conn.arn.clone(), (token.clone(), expiry));
                Ok(Some(("Authorization".into(), format!("Bearer {token}"))))
            }
        }
    }

    async fn fetch_token(&self, conn: &Connection) -> Result<(String, i64), Failure> {
        let Some(o) = &conn.auth.oauth_parameters else {
            return Err(fail(
                "AuthorizationFailure",
                "the connection has no OAuth parameters",
                false,
            ));
        };
        let client = &o.client_parameters;
        let mut form: Vec<(String, String)> = Vec::new();
        let mut query: Vec<(String, String)> = Vec::new();
        let mut headers: Vec<(String, String)> = Vec::new();
        if let Some(extra) = &o.oauth_http_parameters {
            for p in extra.body_parameters.iter().flatten() {
                if let (Some(k), Some(v)) = (&p.key, &p.value) {
                    form.push((k.clone(), v.clone()));
                }
            }
            for p in extra.query_string_parameters.iter().flatten() {
                if let (Some(k), Some(v)) = (&p.key, &p.value) {
                    query.push((k.clone(), v.clone()));
                }
            }
            for p in extra.header_parameters.iter().flatten() {
                if let (Some(k), Some(v)) = (&p.key, &p.value) {
                    headers.push((k.clone(), v.clone()));
                }
            }
        }
        if !form.iter().any(|(k, _)| k == "grant_type") {
            form.push(("grant_type".into(), "client_credentials".into()));
        }
        let method = reqwest::Method::from_bytes(o.http_method.as_bytes())
            .map_err(|e| fail("AuthorizationFailure", e.to_string(), false))?;
        let mut req = self
            .http
            .request(method, &o.authorization_endpoint)
            .basic_auth(&client.client_id, client.client_secret.as_deref());
        if !query.is_empty() {
            req = req.query(&query);
        }
        for (k, v) in &headers {
            req = req.header(k.as_str(), v.as_str());
        }
        let body = form
            .iter()
            .fold(
                form_urlencoded::Serializer::new(String::new()),
                |mut s, (k, v)| {
                    s.append_pair(k, v);
                    s
                },
            )
            .finish();
        let resp = req
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .map_err(|e| fail("AuthorizationFailure", e.without_url().to_string(), true))?;
        let status = resp.status().as_u16();
        if !resp.status().is_success() {
            return Err(fail(
                "AuthorizationFailure",
                format!("The authorization endpoint answered {status}."),
                status >= 500 || status == 429,
            ));
        }
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| fail("AuthorizationFailure", e.without_url().to_string(), true))?;
        let v: Value = serde_json::from_slice(&bytes)
            .map_err(|e| fail("AuthorizationFailure", e.to_string(), false))?;
        let token = v
            .get("access_token")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                fail(
                    "AuthorizationFailure",
                    "no access_token in the answer",
                    false,
                )
            })?;
        let expires = v.get("expires_in").and_then(Value::as_i64).unwrap_or(3600);
        Ok((token.to_owned(), expires))
    }
}
