//! The export is accepted by a consumer that enforces the published client-metadata rules.
//!
//! `validate` below is written from the specifications, not from the portal's code: RFC 7591
//! (OAuth 2.0 Dynamic Client Registration) §2 and §3.2.1, and OpenID Connect Dynamic Client
//! Registration 1.0 §2, with the provider's `subject_types_supported` = public, pairwise (as
//! authlib's `ClientMetadataClaims` checks it). No network.

use serde_json::Value;
use url::Url;

use crate::client_steps::*;

/// OIDC Discovery `subject_types_supported` of the platform's provider.
const SUBJECT_TYPES_SUPPORTED: [&str; 2] = ["public", "pairwise"];

/// Every rule that fails, as text (empty: the entry is valid).
fn validate(entry: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    let Some(object) = entry.as_object() else {
        return vec!["an entry is a JSON object (RFC 7591 §3.2.1)".into()];
    };
    // RFC 7591 §2: metadata values are strings, arrays of strings or numbers; a member that is
    // not set is omitted. JSON null is none of these (authlib rejects it as a wrong type).
    fn nulls(path: &str, v: &Value, errors: &mut Vec<String>) {
        match v {
            Value::Null => errors.push(format!("{path} is null; omit it instead (RFC 7591 §2)")),
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    nulls(&format!("{path}[{i}]"), item, errors);
                }
            }
            Value::Object(members) => {
                for (k, item) in members {
                    nulls(&format!("{path}.{k}"), item, errors);
                }
            }
            _ => {}
        }
    }
    nulls("$", entry, &mut errors);

    let string = |k: &str| object.get(k).and_then(Value::as_str);
    let strings = |k: &str| -> Option<Vec<&str>> {
        object
            .get(k)?
            .as_array()?
            .iter()
            .map(Value::as_str)
            .collect::<Option<Vec<_>>>()
    };
    // RFC 7591 §3.2.1: client_id is REQUIRED in the response.
    if string("client_id").is_none_or(str::is_empty) {
        errors.push("client_id is a non-empty string (RFC 7591 §3.2.1)".into());
    }
    // RFC 7591 §2: redirect_uris is an array of redirection URI strings.
    match strings("redirect_uris") {
        Some(uris) if !uris.is_empty() => {
            for uri in uris {
                if Url::parse(uri).is_err() {
                    errors.push(format!("redirect_uris: {uri} is not a URI (RFC 7591 §2)"));
                }
            }
        }
        _ => errors.push("redirect_uris is a non-empty array of strings (RFC 7591 §2)".into()),
    }
    // RFC 7591 §2: URL-valued members are strings holding a URL.
    for k in [
        "client_uri",
        "logo_uri",
        "tos_uri",
        "policy_uri",
        "initiate_login_uri",
    ] {
        if let Some(v) = object.get(k) {
            match v.as_str().map(Url::parse) {
                Some(Ok(_)) => {}
                _ => errors.push(format!("{k} is a URL string (RFC 7591 §2)")),
            }
        }
    }
    // OIDC DCR §2: initiate_login_uri MUST use the https scheme.
    if let Some(uri) = string("initiate_login_uri")
        && !uri.starts_with("https://")
    {
        errors.push("initiate_login_uri uses https (OIDC DCR §2)".into());
    }
    // RFC 7591 §2: contacts is an array of strings; scope a space-separated string.
    if object.contains_key("contacts") && strings("contacts").is_none() {
        errors.push("contacts is an array of strings (RFC 7591 §2)".into());
    }
    if let Some(v) = object.get("scope")
        && v.as_str().is_none_or(|s| {
            s.split(' ')
                .any(|t| t.is_empty() || t.contains(char::is_whitespace))
        })
    {
        errors.push(
            "scope is a string of space-separated scope values (RFC 7591 §2, RFC 6749 §3.3)".into(),
        );
    }
    // RFC 7591 §2: token_endpoint_auth_method is one of the registered values.
    let method = string("token_endpoint_auth_method").unwrap_or("client_secret_basic");
    if !["none", "client_secret_post", "client_secret_basic"].contains(&method) {
        errors.push(format!(
            "token_endpoint_auth_method {method} is not registered (RFC 7591 §2)"
        ));
    }
    // RFC 7591 §2.1: grant_types and response_types agree.
    let grants = strings("grant_types").unwrap_or(vec!["authorization_code"]);
    let responses = strings("response_types").unwrap_or(vec!["code"]);
    if grants.contains(&"authorization_code") != responses.contains(&"code") {
        errors.push("authorization_code goes with the code response type (RFC 7591 §2.1)".into());
    }
    // OIDC DCR §2: subject_type is one the provider supports.
    if let Some(v) = object.get("subject_type")
        && v.as_str()
            .is_none_or(|s| !SUBJECT_TYPES_SUPPORTED.contains(&s))
    {
        errors.push(format!(
            "subject_type {v} is not in subject_types_supported (OIDC DCR §2)"
        ));
    }
    // RFC 7591 §3.2.1: client_secret_expires_at is REQUIRED when a secret is issued: a number,
    // 0 or Unix seconds.
    if method != "none" && object.contains_key("client_secrets") {
        let listed = object["client_secrets"].as_array().map_or(0, Vec::len);
        if listed > 0
            && !object
                .get("client_secret_expires_at")
                .is_some_and(Value::is_i64)
        {
            errors.push(
                "client_secret_expires_at is required with a secret (RFC 7591 §3.2.1)".into(),
            );
        }
    }
    if method == "none" && object.contains_key("client_secret_expires_at") {
        errors.push("a public client (none) has no secret to expire (RFC 7591 §2)".into());
    }
    errors
}

#[tokio::test]
async fn a_public_and_a_confidential_client_pass_the_registration_rules() {
    let (app, _clock) = spawn_with_clock(|_| {}).await;
    let (_, confidential) = approve(&app, |f| f).await;
    let path = newest_link(&app, "approved").await;
    let secret = reveal_secret(&app, &path).await;
    let (_, public) = approve(&app, |f| {
        f.set("client_type", "public")
            .set("subject_type", "")
            .set("client_name", "Ledgerly Mobile")
    })
    .await;

    let confidential = export_of(&app, &confidential).await;
    let public = export_of(&app, &public).await;
    assert_eq!(
        validate(&confidential),
        Vec::<String>::new(),
        "{confidential:#}"
    );
    assert_eq!(validate(&public), Vec::<String>::new(), "{public:#}");

    // The platform's preference has its own name; OIDC's subject_type is not used.
    assert_eq!(confidential["subject_type_preference"], "company");
    assert!(confidential.get("subject_type").is_none());
    assert!(
        public.get("subject_type_preference").is_none(),
        "unset: left out"
    );
    // The secret's hash, never the secret; its expiry.
    assert_eq!(listed_hashes(&confidential), [hash_of(&secret)]);
    assert_eq!(
        confidential["client_secret_expires_at"],
        confidential["client_secrets"][0]["expires_at"]
    );
    assert!(!confidential.to_string().contains(&secret));
    assert_eq!(public["token_endpoint_auth_method"], "none");
    assert!(public.get("client_secrets").is_none());
    assert!(public.get("client_secret_expires_at").is_none());

    // The whole list says the same.
    let all: Value = app.get("/staff/clients.json").await.json().await.unwrap();
    assert_eq!(all.as_array().unwrap().len(), 2);
    for entry in all.as_array().unwrap() {
        assert_eq!(validate(entry), Vec::<String>::new(), "{entry:#}");
    }
}

/// The validator itself refuses what the old export carried, so the test above can fail.
#[test]
fn the_rules_refuse_a_company_subject_type_and_nulls() {
    let old = serde_json::json!({
        "client_id": "c",
        "redirect_uris": ["https://a.example/cb"],
        "token_endpoint_auth_method": "client_secret_basic",
        "subject_type": "company",
        "tos_uri": null,
        "client_secrets": [{"hash": "sha256:00", "expires_at": 1}],
    });
    let errors = validate(&old);
    assert!(
        errors.iter().any(|e| e.contains("subject_type")),
        "{errors:?}"
    );
    assert!(errors.iter().any(|e| e.contains("null")), "{errors:?}");
    assert!(
        errors
            .iter()
            .any(|e| e.contains("client_secret_expires_at")),
        "{errors:?}"
    );
}
