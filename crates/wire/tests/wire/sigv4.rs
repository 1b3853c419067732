//! SigV4: the published AWS vectors (`tests/data/sigv4/*.json`), then round trips through
//! `sign`, `parse`, `verify` and `check_time`.

use crate::common::{Req, headers};
use chrono::{DateTime, Duration, TimeZone, Utc};
use http::Method;
use serde::Deserialize;
use sightline_wire::CommonError;
use sightline_wire::protocol::WireRequest;
use sightline_wire::sigv4::{self, Credential, ParsedAuth};
use std::path::PathBuf;

const SUITE_SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const MISMATCH: &str = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";

#[derive(Debug, Deserialize)]
struct Case {
    name: String,
    request: CaseRequest,
    s3: bool,
    presigned: bool,
    amz_date: String,
    credential: CaseCredential,
    canonical_request: String,
    string_to_sign: String,
    signature: String,
    signed_headers: String,
    authorization: Option<String>,
    signing_key: Option<String>,
}

#[derive(Debug, Deserialize)]
struct CaseRequest {
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    body: String,
}

#[derive(Debug, Deserialize)]
struct CaseCredential {
    access_key_id: String,
    secret: String,
    date: String,
    region: String,
    service: String,
}

impl CaseCredential {
    fn credential(&self) -> Credential {
        Credential {
            access_key_id: self.access_key_id.clone(),
            date: self.date.clone(),
            region: self.region.clone(),
            service: self.service.clone(),
        }
    }
}

fn data_dir() -> PathBuf {
    crate::common::manifest_dir().join("tests/data/sigv4")
}

fn load_cases() -> Vec<Case> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(data_dir())
        .expect("tests/data/sigv4 exists")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|p| {
            let text = std::fs::read_to_string(p).expect("readable case");
            let case: Case =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            assert_eq!(
                p.file_stem().and_then(|s| s.to_str()),
                Some(case.name.as_str()),
                "case name must match its file name"
            );
            case
        })
        .collect()
}

fn load_case(name: &str) -> Case {
    load_cases()
        .into_iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no case {name}"))
}

fn same(what: &str, expected: &str, actual: &str) -> Result<(), String> {
    if expected == actual {
        Ok(())
    } else {
        Err(format!(
            "{what} differs\n--- expected\n{expected}\n--- actual\n{actual}\n---"
        ))
    }
}

fn amz_time(s: &str) -> DateTime<Utc> {
    chrono::NaiveDateTime::parse_from_str(s, "%Y%m%dT%H%M%SZ")
        .expect("amz date")
        .and_utc()
}

/// Runs one vector: the client's side (canonical request, string to sign, key,
/// signature) and then the server's (parse what was sent, verify it, check the clock).
fn check(case: &Case) -> Result<(), String> {
    let method = Method::from_bytes(case.request.method.as_bytes()).map_err(|e| e.to_string())?;
    let pairs: Vec<(&str, &str)> = case
        .request
        .headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let mut hdrs = headers(&pairs);
    let body = case.request.body.as_bytes();
    let signed: Vec<String> = case.signed_headers.split(';').map(str::to_owned).collect();
    let cred = case.credential.credential();

    let req = WireRequest {
        method: &method,
        path: &case.request.path,
        query: &case.request.query,
        headers: &hdrs,
        body,
    };
    let creq = sigv4::canonical_request(&req, &signed, case.presigned, case.s3);
    same("canonical request", &case.canonical_request, &creq)?;
    let sts = sigv4::string_to_sign(&case.amz_date, &cred, &creq);
    same("string to sign", &case.string_to_sign, &sts)?;
    let key = sigv4::signing_key(&case.credential.secret, &cred);
    if let Some(k) = &case.signing_key {
        same("signing key", k, &hex::encode(key))?;
    }
    same("signature", &case.signature, &sigv4::signature(&key, &sts))?;

    // What the server receives: the Authorization header, or the signature in the query.
    let query = if case.presigned {
        format!("{}&X-Amz-Signature={}", case.request.query, case.signature)
    } else {
        case.request.query.clone()
    };
    if let Some(a) = &case.authorization {
        hdrs.insert(
            "authorization",
            a.parse()
                .map_err(|e| format!("authorization header: {e}"))?,
        );
    }
    let req = WireRequest {
        method: &method,
        path: &case.request.path,
        query: &query,
        headers: &hdrs,
        body,
    };
    let auth = sigv4::parse(&req)
        .map_err(|e| format!("parse failed: {e:?}"))?
        .ok_or("parse found no signature")?;
    same(
        "parsed credential",
        &format!("{cred:?}"),
        &format!("{:?}", auth.credential),
    )?;
    same(
        "parsed signed headers",
        &case.signed_headers,
        &auth.signed_headers.join(";"),
    )?;
    same("parsed signature", &case.signature, &auth.signature)?;
    same("parsed date", &case.amz_date, &auth.amz_date)?;
    if auth.presigned != case.presigned {
        return Err(format!(
            "parsed presigned={} expected {}",
            auth.presigned, case.presigned
        ));
    }
    sigv4::verify(&req, &auth, &key, case.s3).map_err(|e| format!("verify failed: {e:?}"))?;
    sigv4::check_time(&auth, amz_time(&case.amz_date))
        .map_err(|e| format!("check_time failed: {e:?}"))?;

    // And the same request with another secret must not verify.
    let wrong = sigv4::signing_key("not-the-secret", &cred);
    match sigv4::verify(&req, &auth, &wrong, case.s3) {
        Err(CommonError::SignatureDoesNotMatch(m)) if m == MISMATCH => Ok(()),
        other => Err(format!("verify with a wrong secret gave {other:?}")),
    }
}

#[test]
fn published_vectors() {
    let cases = load_cases();
    assert_eq!(
        cases.len(),
        33,
        "tests/data/sigv4 holds 30 suite cases, the IAM example and two S3 examples"
    );
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|c| check(c).err().map(|e| format!("[{}] {e}", c.name)))
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} SigV4 vectors failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn iam_documentation_example() {
    let case = load_case("iam-list-users");
    let cred = case.credential.credential();
    assert_eq!(cred.scope(), "20150830/us-east-1/iam/aws4_request");
    assert_eq!(
        hex::encode(sigv4::signing_key(SUITE_SECRET, &cred)),
        "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9"
    );
    check(&case).unwrap();

    // `sign` produces the documented Authorization header; the access key id only
    // appears in the credential, so the signature is the same for any key id.
    for akid in ["AKIDEXAMPLE", "AKIAIOSFODNN7EXAMPLE"] {
        let mut h = headers(&[
            ("host", "iam.amazonaws.com"),
            (
                "content-type",
                "application/x-www-form-urlencoded; charset=utf-8",
            ),
        ]);
        let cred = Credential {
            access_key_id: akid.into(),
            ..cred.clone()
        };
        sigv4::sign(
            &Method::GET,
            "/",
            "Action=ListUsers&Version=2010-05-08",
            &mut h,
            b"",
            &cred,
            SUITE_SECRET,
            amz_time("20150830T123600Z"),
        );
        assert_eq!(h["x-amz-date"], "20150830T123600Z");
        assert_eq!(
            h["authorization"],
            format!(
                "AWS4-HMAC-SHA256 Credential={akid}/20150830/us-east-1/iam/aws4_request, \
                 SignedHeaders=content-type;host;x-amz-date, \
                 Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
            )
            .as_str()
        );
    }
}

#[test]
fn sign_reproduces_get_vanilla() {
    let mut h = headers(&[("host", "example.amazonaws.com")]);
    let cred = load_case("get-vanilla").credential.credential();
    sigv4::sign(
        &Method::GET,
        "/",
        "",
        &mut h,
        b"",
        &cred,
        SUITE_SECRET,
        amz_time("20150830T123600Z"),
    );
    assert_eq!(
        h["authorization"],
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
         SignedHeaders=host;x-amz-date, \
         Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
    );
}

// ---------------------------------------------------------------------------------------
// Round trips.

const SECRET: &str = "a-secret-key";

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 5, 17, 9, 30, 0).unwrap()
}

fn cred(service: &str) -> Credential {
    Credential {
        access_key_id: "AKIAEXAMPLE1".into(),
        date: "20240517".into(),
        region: "eu-west-1".into(),
        service: service.into(),
    }
}

/// A signed awsJson request.
fn signed_json() -> Req {
    let mut req = Req::new(
        "POST",
        "/",
        "",
        &[
            ("host", "logs.eu-west-1.amazonaws.com"),
            ("content-type", "application/x-amz-json-1.1"),
            ("x-amz-target", "Logs_20140328.CreateLogGroup"),
            ("user-agent", "aws-cli/2.15"),
        ],
        br#"{"logGroupName":"app"}"#,
    );
    sigv4::sign(
        &req.method,
        &req.path,
        &req.query,
        &mut req.headers,
        &req.body,
        &cred("logs"),
        SECRET,
        now(),
    );
    req
}

fn parse(req: &Req) -> ParsedAuth {
    sigv4::parse(&req.wire())
        .expect("parses")
        .expect("is signed")
}

fn verify(req: &Req, secret: &str, cred: &Credential) -> Result<(), CommonError> {
    let auth = parse(req);
    sigv4::verify(&req.wire(), &auth, &sigv4::signing_key(secret, cred), false)
}

#[test]
fn sign_then_parse_and_verify() {
    let req = signed_json();
    let auth = parse(&req);
    assert_eq!(auth.credential, cred("logs"));
    assert_eq!(
        auth.signed_headers,
        ["content-type", "host", "x-amz-date", "x-amz-target"]
    );
    assert_eq!(auth.amz_date, "20240517T093000Z");
    assert_eq!(auth.time, now());
    assert_eq!(auth.signature.len(), 64);
    assert_eq!(auth.security_token, None);
    assert!(!auth.presigned);
    assert_eq!(auth.expires_seconds, None);
    assert_eq!(verify(&req, SECRET, &cred("logs")), Ok(()));
    assert_eq!(sigv4::check_time(&auth, now()), Ok(()));
}

#[test]
fn session_token_is_signed_and_reported() {
    let mut req = Req::new(
        "POST",
        "/",
        "",
        &[
            ("host", "sts.amazonaws.com"),
            ("x-amz-security-token", "FwoGZXIvYXdzEXAMPLE"),
        ],
        b"",
    );
    sigv4::sign(
        &req.method,
        &req.path,
        &req.query,
        &mut req.headers,
        &req.body,
        &cred("sts"),
        SECRET,
        now(),
    );
    let auth = parse(&req);
    assert_eq!(
        auth.signed_headers,
        ["host", "x-amz-date", "x-amz-security-token"]
    );
    assert_eq!(auth.security_token.as_deref(), Some("FwoGZXIvYXdzEXAMPLE"));
    assert_eq!(verify(&req, SECRET, &cred("sts")), Ok(()));
    req.headers
        .insert("x-amz-security-token", "FwoGZXIvYXdzOTHER".parse().unwrap());
    assert_eq!(
        verify(&req, SECRET, &cred("sts")),
        Err(CommonError::SignatureDoesNotMatch(MISMATCH.into()))
    );
}

#[test]
fn tampering_breaks_the_signature() {
    type Tamper = fn(&mut Req);
    let cases: [(&str, Tamper); 9] = [
        ("flipped body byte", |r| r.body[3] ^= 0x01),
        ("appended body byte", |r| r.body.push(b' ')),
        ("changed signed header", |r| {
            r.headers.insert(
                "x-amz-target",
                "Logs_20140328.DeleteLogGroup".parse().unwrap(),
            );
        }),
        ("changed content type", |r| {
            r.headers.insert(
                "content-type",
                "application/x-amz-json-1.0".parse().unwrap(),
            );
        }),
        ("changed host", |r| {
            r.headers
                .insert("host", "logs.us-east-1.amazonaws.com".parse().unwrap());
        }),
        ("changed x-amz-date", |r| {
            r.headers
                .insert("x-amz-date", "20240517T093001Z".parse().unwrap());
        }),
        ("changed path", |r| r.path = "/other".into()),
        ("added query parameter", |r| r.query = "a=b".into()),
        ("changed method", |r| r.method = Method::PUT),
    ];
    for (what, tamper) in cases {
        let mut req = signed_json();
        tamper(&mut req);
        assert_eq!(
            verify(&req, SECRET, &cred("logs")),
            Err(CommonError::SignatureDoesNotMatch(MISMATCH.into())),
            "{what}"
        );
    }

    // An unsigned header may change freely.
    let mut req = signed_json();
    req.headers
        .insert("user-agent", "something-else".parse().unwrap());
    req.headers
        .insert("x-amzn-trace-id", "Root=1-abc".parse().unwrap());
    assert_eq!(verify(&req, SECRET, &cred("logs")), Ok(()));
}

#[test]
fn wrong_secret_or_scope_does_not_match() {
    let req = signed_json();
    let mismatch = Err(CommonError::SignatureDoesNotMatch(MISMATCH.into()));
    assert_eq!(verify(&req, "another-secret", &cred("logs")), mismatch);
    let other_region = Credential {
        region: "us-east-1".into(),
        ..cred("logs")
    };
    assert_eq!(verify(&req, SECRET, &other_region), mismatch);
    assert_eq!(verify(&req, SECRET, &cred("sqs")), mismatch);
    // A signature of the right length but different case is still different.
    let mut auth = parse(&req);
    auth.signature = auth.signature.to_uppercase();
    let key = sigv4::signing_key(SECRET, &cred("logs"));
    assert_eq!(sigv4::verify(&req.wire(), &auth, &key, false), mismatch);
    auth.signature.truncate(63);
    assert_eq!(sigv4::verify(&req.wire(), &auth, &key, false), mismatch);
}

#[test]
fn host_must_be_signed() {
    let mut req = Req::new(
        "POST",
        "/",
        "",
        &[("content-type", "application/x-amz-json-1.1")],
        b"{}",
    );
    sigv4::sign(
        &req.method,
        &req.path,
        &req.query,
        &mut req.headers,
        &req.body,
        &cred("logs"),
        SECRET,
        now(),
    );
    assert_eq!(parse(&req).signed_headers, ["content-type", "x-amz-date"]);
    assert_eq!(
        verify(&req, SECRET, &cred("logs")),
        Err(CommonError::SignatureDoesNotMatch(
            "'Host' must be a 'SignedHeader' in the AWS Authorization.".into()
        ))
    );
}

/// A presigned STS `GetCallerIdentity` URL, as EKS authenticators build them.
fn presigned(expires: i64, extra: &str) -> Req {
    let query = format!(
        "Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Algorithm=AWS4-HMAC-SHA256\
         &X-Amz-Credential=AKIAEXAMPLE1%2F20240517%2Feu-west-1%2Fsts%2Faws4_request\
         &X-Amz-Date=20240517T093000Z&X-Amz-Expires={expires}&X-Amz-SignedHeaders=host{extra}"
    );
    let mut req = Req::new(
        "GET",
        "/",
        &query,
        &[("host", "sts.eu-west-1.amazonaws.com")],
        b"",
    );
    let signed = ["host".to_owned()];
    let creq = sigv4::canonical_request(&req.wire(), &signed, true, false);
    let sts = sigv4::string_to_sign("20240517T093000Z", &cred("sts"), &creq);
    let sig = sigv4::signature(&sigv4::signing_key(SECRET, &cred("sts")), &sts);
    req.query = format!("{query}&X-Amz-Signature={sig}");
    req
}

#[test]
fn presigned_query_is_parsed_and_verified() {
    let req = presigned(60, "");
    let auth = parse(&req);
    assert!(auth.presigned);
    assert_eq!(auth.credential, cred("sts"));
    assert_eq!(auth.signed_headers, ["host"]);
    assert_eq!(auth.expires_seconds, Some(60));
    assert_eq!(auth.time, now());
    assert_eq!(auth.security_token, None);
    assert_eq!(
        sigv4::verify(
            &req.wire(),
            &auth,
            &sigv4::signing_key(SECRET, &cred("sts")),
            false
        ),
        Ok(())
    );
    assert_eq!(
        sigv4::check_time(&auth, now() + Duration::seconds(60)),
        Ok(())
    );
    assert_eq!(
        sigv4::check_time(&auth, now() + Duration::seconds(61)),
        Err(CommonError::SignatureExpired(
            "Signature expired: 20240517T093000Z is now earlier than 20240517T093001Z (20240517T093101Z - 60 sec.)".into()
        ))
    );
    // The URL's own expiry governs, not the 15-minute window...
    let day = parse(&presigned(86_400, ""));
    assert_eq!(sigv4::check_time(&day, now() + Duration::hours(23)), Ok(()));
    // ...but a URL from the future is still refused.
    assert!(matches!(
        sigv4::check_time(&day, now() - Duration::minutes(20)),
        Err(CommonError::SignatureExpired(m)) if m.starts_with("Signature not yet current")
    ));

    // Tampering with a signed parameter breaks it.
    let mut tampered = presigned(60, "");
    tampered.query = tampered
        .query
        .replace("GetCallerIdentity", "GetSessionToken");
    assert_eq!(
        verify(&tampered, SECRET, &cred("sts")),
        Err(CommonError::SignatureDoesNotMatch(MISMATCH.into()))
    );
    let mut tampered = presigned(60, "");
    tampered.query = tampered
        .query
        .replace("X-Amz-Expires=60", "X-Amz-Expires=600");
    assert_eq!(
        verify(&tampered, SECRET, &cred("sts")),
        Err(CommonError::SignatureDoesNotMatch(MISMATCH.into()))
    );
}

#[test]
fn presigned_session_token() {
    let req = presigned(60, "&X-Amz-Security-Token=IQoJb3JpZ2luX2VjEXAMPLE%2B%2F%3D");
    let auth = parse(&req);
    assert_eq!(
        auth.security_token.as_deref(),
        Some("IQoJb3JpZ2luX2VjEXAMPLE+/=")
    );
    assert_eq!(verify(&req, SECRET, &cred("sts")), Ok(()));
}

fn parse_err(query: &str, hdrs: &[(&str, &str)]) -> CommonError {
    let req = Req::new("GET", "/", query, hdrs, b"");
    sigv4::parse(&req.wire()).expect_err("rejected")
}

#[test]
fn malformed_presigned_queries() {
    let base = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20240517%2Feu-west-1%2Fsts%2Faws4_request\
                &X-Amz-Date=20240517T093000Z&X-Amz-SignedHeaders=host&X-Amz-Signature=abc";
    let req = Req::new("GET", "/", base, &[], b"");
    let auth = sigv4::parse(&req.wire()).unwrap().unwrap();
    assert_eq!(auth.expires_seconds, None);

    let incomplete = |m: &str| CommonError::IncompleteSignature(m.to_owned());
    assert_eq!(
        parse_err(&base.replace("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA1"), &[]),
        incomplete("Unsupported algorithm 'AWS4-HMAC-SHA1'")
    );
    assert_eq!(
        parse_err(&base.replace("X-Amz-Credential", "X-Amz-Cred"), &[]),
        incomplete("Query-string authentication requires the X-Amz-Credential parameter")
    );
    assert_eq!(
        parse_err(&base.replace("X-Amz-Signature=abc", ""), &[]),
        incomplete("Query-string authentication requires the X-Amz-Signature parameter")
    );
    assert_eq!(
        parse_err(&base.replace("X-Amz-SignedHeaders", "X-Amz-Signed"), &[]),
        incomplete("Query-string authentication requires the X-Amz-SignedHeaders parameter")
    );
    assert_eq!(
        parse_err(&format!("{base}&X-Amz-Expires=soon"), &[]),
        incomplete("Query-string authentication requires the X-Amz-Expires parameter")
    );
    assert_eq!(
        parse_err(
            &base.replace("20240517T093000Z", "2024-05-17T09:30:00Z"),
            &[]
        ),
        incomplete("Date must be in ISO-8601 'basic format'. Got '2024-05-17T09:30:00Z'.")
    );
    assert_eq!(
        parse_err(&base.replace("%2Faws4_request", ""), &[]),
        incomplete(
            "Credential should be scoped to a valid region, a valid service and end with aws4_request. \
             Got 'AKID/20240517/eu-west-1/sts'."
        )
    );
}

#[test]
fn malformed_authorization_headers() {
    const GOOD: &str = "AWS4-HMAC-SHA256 Credential=AKID/20240517/eu-west-1/logs/aws4_request, \
                        SignedHeaders=host;x-amz-date, Signature=abc";
    let date = ("x-amz-date", "20240517T093000Z");
    let ok = sigv4::parse(&Req::new("GET", "/", "", &[("authorization", GOOD), date], b"").wire())
        .unwrap()
        .unwrap();
    assert_eq!(ok.signature, "abc");
    assert_eq!(ok.signed_headers, ["host", "x-amz-date"]);

    let incomplete = |m: String| CommonError::IncompleteSignature(m);
    assert_eq!(
        parse_err("", &[("authorization", "Basic dXNlcjpwYXNz"), date]),
        incomplete("Unsupported authorization type: 'Basic'".into())
    );
    let no_sig =
        "AWS4-HMAC-SHA256 Credential=AKID/20240517/eu-west-1/logs/aws4_request, SignedHeaders=host";
    assert_eq!(
        parse_err("", &[("authorization", no_sig), date]),
        incomplete(format!(
            "Authorization header requires 'Signature' parameter. Authorization={no_sig}"
        ))
    );
    let no_signed =
        "AWS4-HMAC-SHA256 Credential=AKID/20240517/eu-west-1/logs/aws4_request, Signature=abc";
    assert_eq!(
        parse_err("", &[("authorization", no_signed), date]),
        incomplete(format!(
            "Authorization header requires 'SignedHeaders' parameter. Authorization={no_signed}"
        ))
    );
    let no_cred = "AWS4-HMAC-SHA256 SignedHeaders=host, Signature=abc";
    assert_eq!(
        parse_err("", &[("authorization", no_cred), date]),
        incomplete(format!(
            "Authorization header requires 'Credential' parameter. Authorization={no_cred}"
        ))
    );
    assert_eq!(
        parse_err("", &[("authorization", GOOD)]),
        incomplete(format!(
            "Authorization header requires 'X-Amz-Date' parameter. Authorization={GOOD}"
        ))
    );
    assert_eq!(
        parse_err(
            "",
            &[
                ("authorization", GOOD),
                ("x-amz-date", "Fri, 17 May 2024 09:30:00 GMT")
            ]
        ),
        incomplete(
            "Date must be in ISO-8601 'basic format'. Got 'Fri, 17 May 2024 09:30:00 GMT'.".into()
        )
    );
    let short_date = GOOD.replace("20240517", "240517");
    assert_eq!(
        parse_err("", &[("authorization", &short_date), date]),
        incomplete(
            "Credential should be scoped to a valid region, a valid service and end with aws4_request. \
             Got 'AKID/240517/eu-west-1/logs/aws4_request'."
                .into()
        )
    );
}

#[test]
fn path_encoding_differs_for_s3() {
    // Every service but S3 normalises the path and encodes the path as sent once more;
    // S3 signs the path exactly as sent.
    let req = Req::new("GET", "/a%20b/./c//d/../e", "", &[("host", "h")], b"");
    let signed = ["host".to_owned()];
    let first_line = |s3| {
        sigv4::canonical_request(&req.wire(), &signed, false, s3)
            .lines()
            .nth(1)
            .unwrap()
            .to_owned()
    };
    assert_eq!(first_line(false), "/a%2520b/c/e");
    assert_eq!(first_line(true), "/a%20b/./c//d/../e");
    let root = Req::new("GET", "", "", &[("host", "h")], b"");
    assert_eq!(
        sigv4::canonical_request(&root.wire(), &signed, false, false)
            .lines()
            .nth(1),
        Some("/")
    );
    assert_eq!(
        sigv4::canonical_request(&root.wire(), &signed, false, true)
            .lines()
            .nth(1),
        Some("/")
    );
}

#[test]
fn unsigned_request_parses_to_none() {
    let req = Req::new(
        "GET",
        "/",
        "Action=ListUsers&Version=2010-05-08",
        &[("host", "iam.amazonaws.com")],
        b"",
    );
    assert_eq!(sigv4::parse(&req.wire()), Ok(None));
}

#[test]
fn clock_skew_window() {
    let req = signed_json();
    let auth = parse(&req);
    let t = now();
    for ok in [
        Duration::zero(),
        Duration::minutes(10),
        -Duration::minutes(10),
        Duration::minutes(15),
        -Duration::minutes(15),
    ] {
        assert_eq!(sigv4::check_time(&auth, t + ok), Ok(()), "skew {ok}");
    }
    assert_eq!(
        sigv4::check_time(&auth, t + Duration::minutes(20)),
        Err(CommonError::SignatureExpired(
            "Signature expired: 20240517T093000Z is now earlier than 20240517T093500Z (20240517T095000Z - 15 min.)".into()
        ))
    );
    assert_eq!(
        sigv4::check_time(&auth, t - Duration::minutes(20)),
        Err(CommonError::SignatureExpired(
            "Signature not yet current: 20240517T093000Z is still later than 20240517T092500Z (20240517T091000Z + 15 min.)"
                .into()
        ))
    );
    assert!(sigv4::check_time(&auth, t + Duration::minutes(15) + Duration::seconds(1)).is_err());
    assert!(sigv4::check_time(&auth, t - Duration::minutes(15) - Duration::seconds(1)).is_err());
}

#[test]
fn credential_scope_date_must_match_request_date() {
    let req = signed_json();
    let mut auth = parse(&req);
    auth.credential.date = "20240516".into();
    match sigv4::check_time(&auth, now()) {
        Err(CommonError::SignatureDoesNotMatch(m)) => {
            assert!(m.contains("'20240516' != '20240517'"), "{m}")
        }
        other => panic!("expected a scope-date mismatch, got {other:?}"),
    }
}
