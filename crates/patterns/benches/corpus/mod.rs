//! Generated benchmark data: CloudTrail records in the EventBridge envelope (`AWS API
//! Call via CloudTrail`) and rule sets shaped like real ones.
//!
//! Rules come from sixteen templates over the fields people filter CloudTrail on, taken
//! in turn, so even ten rules mention most of the fields a thousand do. Almost every
//! rule names something of its own (a bucket, a user, a role, an account, an address
//! block, a key prefix) derived from its index, the way rules in a large account or a
//! multi-tenant bus do, so a given event matches only a handful of them whatever the
//! rule count. Among the first thousand rules every fiftieth is broad instead (all IAM
//! changes, every error, root activity): a real rule set has a few of those too, and
//! they are what most events match.
//!
//! Events are drawn from the same vocabulary: ten services, 41 API calls, names
//! and addresses whose indices fall in the first few thousand, so events meet specific
//! rules only when the rule set is that large, as with real traffic.

use serde_json::{Value, json};

/// SplitMix64: reproducible data without a dependency.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// (event source, EventBridge source, API calls).
const SERVICES: [(&str, &str, &[&str]); 10] = [
    (
        "s3.amazonaws.com",
        "aws.s3",
        &[
            "PutObject",
            "GetObject",
            "DeleteObject",
            "CreateBucket",
            "DeleteBucket",
            "PutBucketPolicy",
            "PutBucketAcl",
        ],
    ),
    (
        "ec2.amazonaws.com",
        "aws.ec2",
        &[
            "RunInstances",
            "TerminateInstances",
            "StopInstances",
            "StartInstances",
            "AuthorizeSecurityGroupIngress",
            "CreateSecurityGroup",
            "ModifyInstanceAttribute",
        ],
    ),
    (
        "iam.amazonaws.com",
        "aws.iam",
        &[
            "CreateUser",
            "DeleteUser",
            "AttachRolePolicy",
            "CreateAccessKey",
            "PutRolePolicy",
            "CreateRole",
            "UpdateAssumeRolePolicy",
        ],
    ),
    (
        "sts.amazonaws.com",
        "aws.sts",
        &["AssumeRole", "GetSessionToken"],
    ),
    (
        "kms.amazonaws.com",
        "aws.kms",
        &[
            "Decrypt",
            "GenerateDataKey",
            "ScheduleKeyDeletion",
            "DisableKey",
            "CreateGrant",
        ],
    ),
    (
        "lambda.amazonaws.com",
        "aws.lambda",
        &[
            "CreateFunction20150331",
            "UpdateFunctionCode20150331v2",
            "AddPermission20150331v2",
        ],
    ),
    (
        "dynamodb.amazonaws.com",
        "aws.dynamodb",
        &["CreateTable", "DeleteTable", "UpdateTable"],
    ),
    ("signin.amazonaws.com", "aws.signin", &["ConsoleLogin"]),
    (
        "rds.amazonaws.com",
        "aws.rds",
        &["CreateDBInstance", "DeleteDBInstance", "ModifyDBInstance"],
    ),
    (
        "cloudtrail.amazonaws.com",
        "aws.cloudtrail",
        &["StopLogging", "DeleteTrail", "UpdateTrail"],
    ),
];

const REGIONS: [&str; 6] = [
    "us-east-1",
    "us-west-2",
    "eu-west-1",
    "eu-central-1",
    "ap-southeast-2",
    "sa-east-1",
];

const AGENTS: [&str; 4] = [
    "[aws-cli/2.15.30 md/awscrt#0.19.19 ua/2.0 os/linux#6.1.79-99.167.amzn2023.x86_64 md/arch#x86_64 lang/python#3.11.8 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/distrib#amzn.2023 md/prompt#off md/command#s3.cp]",
    "Boto3/1.34.69 md/Botocore#1.34.69 ua/2.0 os/linux#5.10.213-201.855.amzn2.x86_64 md/arch#x86_64 lang/python#3.12.2 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.69",
    "aws-sdk-go-v2/1.26.1 os/linux lang/go#1.22.2 md/GOOS#linux md/GOARCH#amd64 api/s3#1.53.1",
    "console.amazonaws.com",
];

pub fn account(i: usize) -> String {
    format!(
        "{:012}",
        100_000_000_000u64 + (i as u64 * 7_919) % 899_999_999_999
    )
}

fn ip(i: usize) -> String {
    format!("10.{}.{}.{}", (i / 256) % 256, i % 256, 1 + i % 200)
}

/// One CloudTrail record (1.5–3 KB of JSON) in the EventBridge envelope.
pub fn event(rng: &mut Rng) -> Value {
    let (event_source, source, calls) = *rng.pick(&SERVICES);
    let name = *rng.pick(calls);
    let k = rng.below(3_000);
    let acct = account(rng.below(300));
    let region = *rng.pick(&REGIONS);
    let root = rng.below(40) == 0;
    let user = format!("user-{k}");
    let role = format!("role-{}", rng.below(3_000));
    let session = format!("session-{:08x}", rng.next() as u32);
    let bucket = format!("bucket-{}", rng.below(3_000));
    let key = format!(
        "logs/tenant-{}/2026/11/{:02}/part-{:05}.json.gz",
        rng.below(3_000),
        1 + rng.below(28),
        rng.below(100_000)
    );
    let identity = if root {
        json!({
            "type": "Root",
            "principalId": acct,
            "arn": format!("arn:aws:iam::{acct}:root"),
            "accountId": acct,
            "accessKeyId": format!("ASIA{:016X}", rng.next() >> 4),
        })
    } else {
        json!({
            "type": "AssumedRole",
            "principalId": format!("AROA{:016X}:{session}", rng.next() >> 8),
            "arn": format!("arn:aws:sts::{acct}:assumed-role/{role}/{session}"),
            "accountId": acct,
            "accessKeyId": format!("ASIA{:016X}", rng.next() >> 4),
            "userName": user,
            "sessionContext": {
                "sessionIssuer": {
                    "type": "Role",
                    "principalId": format!("AROA{:016X}", rng.next() >> 8),
                    "arn": format!("arn:aws:iam::{acct}:role/{role}"),
                    "accountId": acct,
                    "userName": role,
                },
                "webIdFederationData": {},
                "attributes": {
                    "creationDate": "2026-11-27T06:58:12Z",
                    "mfaAuthenticated": if rng.below(3) == 0 { "true" } else { "false" },
                },
            },
        })
    };
    let request = match source {
        "aws.s3" => {
            json!({"bucketName": bucket, "Host": format!("{bucket}.s3.{region}.amazonaws.com"), "key": key})
        }
        "aws.ec2" => json!({
            "instancesSet": {"items": [{"imageId": "ami-0abcdef1234567890", "minCount": 1, "maxCount": 1 + rng.below(4)}]},
            "instanceType": *rng.pick(&["t3.micro", "m5.large", "c6i.2xlarge", "p4d.24xlarge", "g5.xlarge"]),
            "groupId": format!("sg-{:017x}", rng.next() >> 4),
        }),
        "aws.iam" => {
            json!({"userName": user, "roleName": role, "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"})
        }
        "aws.kms" => {
            json!({"keyId": format!("arn:aws:kms:{region}:{acct}:key/{:08x}-0000-4000-8000-{:012x}", rng.next() as u32, rng.next() >> 16), "encryptionAlgorithm": "SYMMETRIC_DEFAULT"})
        }
        "aws.lambda" => {
            json!({"functionName": format!("function-{k}"), "runtime": "python3.12", "memorySize": 128 * (1 + rng.below(8))})
        }
        "aws.dynamodb" => {
            json!({"tableName": format!("table-{k}"), "billingMode": "PAY_PER_REQUEST"})
        }
        _ => json!({"name": format!("resource-{k}")}),
    };
    let failed = rng.below(10) == 0;
    let mut detail = json!({
        "eventVersion": "1.09",
        "userIdentity": identity,
        "eventTime": "2026-11-27T07:00:00Z",
        "eventSource": event_source,
        "eventName": name,
        "awsRegion": region,
        "sourceIPAddress": ip(rng.below(3_000)),
        "userAgent": *rng.pick(&AGENTS),
        "requestParameters": request,
        "responseElements": if source == "aws.signin" {
            json!({"ConsoleLogin": if failed { "Failure" } else { "Success" }})
        } else {
            json!({"requestId": format!("{:016X}", rng.next())})
        },
        "additionalEventData": {
            "SignatureVersion": "SigV4",
            "CipherSuite": "ECDHE-RSA-AES128-GCM-SHA256",
            "bytesTransferredIn": rng.below(1 << 20),
            "AuthenticationMethod": "AuthHeader",
            "x-amz-id-2": format!("{:032x}{:032x}", rng.next(), rng.next()),
            "bytesTransferredOut": rng.below(1 << 16),
        },
        "requestID": format!("{:016X}", rng.next()),
        "eventID": format!("{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}", rng.next() as u32, rng.below(1 << 16), rng.below(1 << 12), rng.below(1 << 12), rng.next() >> 16),
        "readOnly": name.starts_with("Get") || name.starts_with("Describe"),
        "resources": [
            {"type": "AWS::S3::Object", "ARN": format!("arn:aws:s3:::{bucket}/{key}")},
            {"accountId": acct, "type": "AWS::S3::Bucket", "ARN": format!("arn:aws:s3:::{bucket}")},
        ],
        "eventType": "AwsApiCall",
        "managementEvent": source != "aws.s3",
        "recipientAccountId": acct,
        "eventCategory": if source == "aws.s3" { "Data" } else { "Management" },
        "tlsDetails": {
            "tlsVersion": "TLSv1.3",
            "cipherSuite": "TLS_AES_128_GCM_SHA256",
            "clientProvidedHostHeader": format!("{event_source}"),
        },
    });
    if failed && let Some(d) = detail.as_object_mut() {
        d.insert("errorCode".into(), json!("AccessDenied"));
        d.insert(
            "errorMessage".into(),
            json!(format!("User: arn:aws:sts::{acct}:assumed-role/{role}/{session} is not authorized to perform: {name}")),
        );
    }
    json!({
        "version": "0",
        "id": format!("{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}", rng.next() as u32, rng.below(1 << 16), rng.below(1 << 12), rng.below(1 << 12), rng.next() >> 16),
        "detail-type": "AWS API Call via CloudTrail",
        "source": source,
        "account": acct,
        "time": "2026-11-27T07:00:00Z",
        "region": region,
        "resources": [],
        "detail": detail,
    })
}

/// Broad rules, as an organization's few catch-alls.
fn broad(i: usize) -> Value {
    match (i / 50) % 6 {
        0 => json!({"source": ["aws.iam"], "detail-type": ["AWS API Call via CloudTrail"]}),
        1 => json!({"detail": {"errorCode": [{"exists": true}]}}),
        2 => json!({"detail": {"userIdentity": {"type": ["Root"]}}}),
        3 => {
            json!({"source": ["aws.cloudtrail"], "detail": {"eventName": ["StopLogging", "DeleteTrail"]}})
        }
        4 => {
            json!({"detail": {"eventName": ["ConsoleLogin"], "responseElements": {"ConsoleLogin": ["Failure"]}}})
        }
        _ => {
            json!({"source": ["aws.kms"], "detail": {"eventName": ["ScheduleKeyDeletion", "DisableKey"]}})
        }
    }
}

/// Rule `i` of a rule set; `quamina_safe` leaves out what quamina has no syntax for
/// (`$or`, case-insensitive prefixes).
pub fn rule(i: usize, quamina_safe: bool) -> Value {
    if i < 1_000 && i.is_multiple_of(50) {
        return broad(i);
    }
    let (_, source, calls) = SERVICES[i % SERVICES.len()];
    let call = calls[(i / SERVICES.len()) % calls.len()];
    let other = calls[(i / SERVICES.len() + 1) % calls.len()];
    let template = i % if quamina_safe { 14 } else { 16 };
    match template {
        0 => json!({
            "source": [source],
            "detail-type": ["AWS API Call via CloudTrail"],
            "detail": {"eventName": [call, other], "userIdentity": {"userName": [format!("user-{i}")]}},
        }),
        1 => json!({
            "source": ["aws.s3"],
            "detail": {"eventName": ["PutObject", "DeleteObject"], "requestParameters": {"bucketName": [format!("bucket-{i}")]}},
        }),
        2 => json!({
            "detail": {"userIdentity": {"arn": [{"prefix": format!("arn:aws:sts::{}:assumed-role/role-{i}/", account(i % 300))}]}},
        }),
        3 => json!({
            "source": [source],
            "detail": {"sourceIPAddress": [{"cidr": format!("10.{}.{}.0/24", (i / 256) % 256, i % 256)}]},
        }),
        4 => json!({
            "account": [account(i)],
            "detail": {"eventName": [{"anything-but": ["GetObject", "Decrypt", "GenerateDataKey"]}], "readOnly": [false]},
        }),
        5 => json!({
            "detail": {
                "requestParameters": {"bucketName": [format!("bucket-{i}")]},
                "additionalEventData": {"bytesTransferredIn": [{"numeric": [">", 1_000 * (i % 500)]}]},
            },
        }),
        6 => json!({
            "detail": {"errorCode": [{"exists": true}], "userIdentity": {"userName": [format!("user-{i}")]}},
        }),
        7 => json!({
            "detail": {"requestParameters": {"key": [{"wildcard": format!("logs/tenant-{i}/*.json.gz")}]}},
        }),
        8 => json!({
            "source": ["aws.lambda"],
            "detail": {"requestParameters": {"functionName": [{"suffix": format!("-{i}")}]}},
        }),
        9 => json!({
            "detail": {"requestParameters": {"tableName": [{"equals-ignore-case": format!("TABLE-{i}")}]}, "eventSource": ["dynamodb.amazonaws.com"]},
        }),
        10 => json!({
            "region": [REGIONS[i % REGIONS.len()]],
            "detail": {
                "userIdentity": {"userName": [format!("user-{i}")], "sessionContext": {"attributes": {"mfaAuthenticated": ["false"]}}},
                "eventName": [{"prefix": "Delete"}, {"prefix": "Terminate"}],
            },
        }),
        11 => json!({
            "source": ["aws.ec2"],
            "detail": {"eventName": ["RunInstances"], "requestParameters": {"instanceType": [{"prefix": "p4"}, {"prefix": "g5"}]}, "userIdentity": {"sessionContext": {"sessionIssuer": {"userName": [format!("role-{i}")]}}}},
        }),
        12 => json!({
            "detail": {"resources": {"ARN": [format!("arn:aws:s3:::bucket-{i}")]}, "eventName": [{"anything-but": {"prefix": "Get"}}]},
        }),
        13 => json!({
            "account": [account(i)],
            "detail": {"userIdentity": {"sessionContext": {"attributes": {"mfaAuthenticated": [{"exists": false}]}}, "type": ["AssumedRole"]}, "eventSource": [format!("{}", SERVICES[i % SERVICES.len()].0)]},
        }),
        14 => json!({
            "source": ["aws.iam"],
            "$or": [
                {"detail": {"requestParameters": {"userName": [format!("user-{i}")]}}},
                {"detail": {"requestParameters": {"roleName": [format!("role-{i}")]}}},
            ],
        }),
        _ => json!({
            "detail": {"userAgent": [{"prefix": {"equals-ignore-case": "AWS-CLI/"}}], "userIdentity": {"userName": [format!("user-{i}")]}},
        }),
    }
}

/// Rule `j` of ten that together mention every field the first thousand rules do: each
/// is an `$or` of template rules (every template once, and the broad rules), to show
/// that the cost of a small rule set is set by the fields it reads, not its size.
pub fn wide_rule(j: usize) -> Value {
    // Rule 1008 + t has template t and is not a broad rule.
    let mut alternatives = vec![rule(1_008 + j, false)];
    if j + 10 < 16 {
        alternatives.push(rule(1_018 + j, false));
    } else {
        alternatives.push(rule(2_008 + j, false));
    }
    if j < 6 {
        alternatives.push(rule(50 * j, false));
    }
    json!({ "$or": alternatives })
}
