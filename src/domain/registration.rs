//! A registration: the whole form, parsed into domain types by one function that returns either
//! the registration or every field's error at once.

use std::collections::BTreeMap;

use crate::domain::AppEnv;
use crate::domain::client_name::ClientName;
use crate::domain::contacts::ContactList;
use crate::domain::fields;
use crate::domain::redirect_uri::RedirectUris;
use crate::domain::scopes::{ScopeCatalogue, ScopeSet, SubjectType};
use crate::domain::web_url::WebUrl;

pub const SCOPE_REASON_MAX: usize = 1000;
pub const PKCE_EXCEPTION_MAX: usize = 200;

/// A field's label, from [`fields::FIELDS`].
pub fn field_label(name: &str) -> &'static str {
    fields::label(name)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientType {
    Confidential,
    Public,
}

impl ClientType {
    pub fn as_str(self) -> &'static str {
        match self {
            ClientType::Confidential => "confidential",
            ClientType::Public => "public",
        }
    }
    pub fn parse(value: &str) -> Option<ClientType> {
        match value {
            "confidential" => Some(ClientType::Confidential),
            "public" => Some(ClientType::Public),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pkce {
    Supported,
    NotSupported,
}

impl Pkce {
    pub fn as_str(self) -> &'static str {
        match self {
            Pkce::Supported => "supported",
            Pkce::NotSupported => "not_supported",
        }
    }
    pub fn parse(value: &str) -> Option<Pkce> {
        match value {
            "supported" => Some(Pkce::Supported),
            "not_supported" => Some(Pkce::NotSupported),
            _ => None,
        }
    }
}

/// The form exactly as typed: what we echo back when something is wrong.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegistrationInput {
    pub client_name: String,
    pub client_uri: String,
    pub tos_uri: String,
    pub policy_uri: String,
    pub contacts: String,
    pub initiation_uri: String,
    pub settings_uri: String,
    pub client_type: String,
    pub redirect_uris: String,
    pub scopes: Vec<String>,
    pub scope_reason: String,
    pub pkce: String,
    pub pkce_exception: String,
    pub subject_type: String,
}

/// Every field's errors, in form order; a field may have several (one per redirect URI line).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldErrors(BTreeMap<usize, (&'static str, Vec<String>)>);

impl FieldErrors {
    pub fn add(&mut self, field: &'static str, message: impl Into<String>) {
        let order = fields::position(field);
        self.0
            .entry(order)
            .or_insert_with(|| (field, Vec::new()))
            .1
            .push(message.into());
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn get(&self, field: &str) -> &[String] {
        self.0
            .values()
            .find(|(f, _)| *f == field)
            .map(|(_, m)| m.as_slice())
            .unwrap_or(&[])
    }
    /// (field, label, messages) in form order, for the error summary.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &'static str, &[String])> {
        self.0
            .values()
            .map(|(f, m)| (*f, field_label(f), m.as_slice()))
    }
}

/// The public id of an accepted logo that is stored (held or claimed) in the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoId(pub String);

#[derive(Debug, Clone)]
pub struct Registration {
    pub client_name: ClientName,
    pub client_uri: WebUrl,
    pub logo: LogoId,
    pub tos_uri: WebUrl,
    pub policy_uri: WebUrl,
    pub contacts: ContactList,
    pub initiation_uri: WebUrl,
    pub settings_uri: WebUrl,
    pub client_type: ClientType,
    pub redirect_uris: RedirectUris,
    pub scopes: ScopeSet,
    pub scope_reason: Option<String>,
    pub pkce: Pkce,
    /// Only for a public client without PKCE: the exception agreed with the partner manager.
    pub pkce_exception: Option<String>,
    pub subject_type: Option<SubjectType>,
}

impl Registration {
    /// Parse the whole form. `logo` is the outcome of the logo check, done before because it
    /// runs on a blocking thread: the stored logo's id, or the message to show.
    pub fn parse(
        input: &RegistrationInput,
        logo: Result<LogoId, String>,
        env: AppEnv,
        catalogue: &ScopeCatalogue,
    ) -> Result<Registration, FieldErrors> {
        let mut errors = FieldErrors::default();
        let web_url = |field: &'static str, value: &str, errors: &mut FieldErrors| {
            WebUrl::parse(value, env)
                .map_err(|e| errors.add(field, e.to_string()))
                .ok()
        };

        let client_name = ClientName::parse(&input.client_name)
            .map_err(|e| errors.add("client_name", e.to_string()))
            .ok();
        let client_uri = web_url("client_uri", &input.client_uri, &mut errors);
        let logo = logo.map_err(|m| errors.add("logo", m)).ok();
        let tos_uri = web_url("tos_uri", &input.tos_uri, &mut errors);
        let policy_uri = web_url("policy_uri", &input.policy_uri, &mut errors);
        let contacts = ContactList::parse(&input.contacts)
            .map_err(|e| errors.add("contacts", e.to_string()))
            .ok();
        let initiation_uri = web_url("initiation_uri", &input.initiation_uri, &mut errors);
        let settings_uri = web_url("settings_uri", &input.settings_uri, &mut errors);
        let client_type = ClientType::parse(input.client_type.trim());
        if client_type.is_none() {
            errors.add(
                "client_type",
                "Choose confidential (a server-side app) or public (a browser or mobile app).",
            );
        }
        let redirect_uris = RedirectUris::parse(&input.redirect_uris, env)
            .map_err(|messages| {
                for m in messages {
                    errors.add("redirect_uris", m);
                }
            })
            .ok();
        let scopes = ScopeSet::parse(&input.scopes, catalogue)
            .map_err(|m| errors.add("scopes", m))
            .ok();

        let scope_reason = input.scope_reason.trim();
        let reason_len = scope_reason.chars().count();
        if reason_len > SCOPE_REASON_MAX {
            errors.add(
                "scope_reason",
                format!("Keep the reason to at most {SCOPE_REASON_MAX} characters; yours is {reason_len}."),
            );
        }

        let pkce = Pkce::parse(input.pkce.trim());
        if pkce.is_none() {
            errors.add("pkce", "Say whether the client supports PKCE.");
        }

        // RFC 9700 §2.1.1: public clients must use PKCE; the only way round it is an exception
        // agreed beforehand, whose reference the reviewer checks.
        let exception = input.pkce_exception.trim();
        let needs_exception =
            client_type == Some(ClientType::Public) && pkce == Some(Pkce::NotSupported);
        let pkce_exception = if needs_exception {
            let len = exception.chars().count();
            if exception.is_empty() {
                errors.add(
                    "pkce_exception",
                    "A public client must support PKCE. Without it, enter the exception reference agreed with your partner manager.",
                );
            } else if len > PKCE_EXCEPTION_MAX {
                errors.add(
                    "pkce_exception",
                    format!("The exception reference must be at most {PKCE_EXCEPTION_MAX} characters; yours is {len}."),
                );
            } else if exception.chars().any(char::is_control) {
                errors.add(
                    "pkce_exception",
                    "The exception reference must be on one line.",
                );
            }
            Some(exception.to_owned())
        } else {
            None
        };

        let subject_type = SubjectType::parse(&input.subject_type, catalogue)
            .map_err(|m| errors.add("subject_type", m))
            .ok()
            .flatten();

        match (
            client_name,
            client_uri,
            logo,
            tos_uri,
            policy_uri,
            contacts,
            initiation_uri,
            settings_uri,
            client_type,
            redirect_uris,
            scopes,
            pkce,
        ) {
            (
                Some(client_name),
                Some(client_uri),
                Some(logo),
                Some(tos_uri),
                Some(policy_uri),
                Some(contacts),
                Some(initiation_uri),
                Some(settings_uri),
                Some(client_type),
                Some(redirect_uris),
                Some(scopes),
                Some(pkce),
            ) if errors.is_empty() => Ok(Registration {
                client_name,
                client_uri,
                logo,
                tos_uri,
                policy_uri,
                contacts,
                initiation_uri,
                settings_uri,
                client_type,
                redirect_uris,
                scopes,
                scope_reason: (!scope_reason.is_empty()).then(|| scope_reason.to_owned()),
                pkce,
                pkce_exception,
                subject_type,
            }),
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub fn valid_input() -> RegistrationInput {
        RegistrationInput {
            client_name: "Ledgerly".into(),
            client_uri: "https://ledgerly.example".into(),
            tos_uri: "https://ledgerly.example/terms".into(),
            policy_uri: "https://ledgerly.example/privacy".into(),
            contacts: "dev@ledgerly.example, ops@ledgerly.example".into(),
            initiation_uri: "https://ledgerly.example/connect".into(),
            settings_uri: "https://ledgerly.example/settings".into(),
            client_type: "confidential".into(),
            redirect_uris: "https://ledgerly.example/callback".into(),
            scopes: vec!["users:read".into(), "expenses:read".into()],
            scope_reason: String::new(),
            pkce: "supported".into(),
            pkce_exception: String::new(),
            subject_type: "company".into(),
        }
    }

    fn parse(input: &RegistrationInput) -> Result<Registration, FieldErrors> {
        Registration::parse(
            input,
            Ok(LogoId("logo".into())),
            AppEnv::Staging,
            &ScopeCatalogue::builtin(),
        )
    }

    #[test]
    fn a_complete_form_parses() {
        let r = parse(&valid_input()).unwrap();
        assert_eq!(r.client_name.as_str(), "Ledgerly");
        assert_eq!(r.contacts.len(), 2);
        assert_eq!(r.subject_type.as_ref().map(|s| s.as_str()), Some("company"));
        assert_eq!(r.pkce_exception, None);
    }

    #[test]
    fn every_field_error_is_reported_at_once() {
        let errors = Registration::parse(
            &RegistrationInput::default(),
            Err("Choose a logo file to upload.".into()),
            AppEnv::Staging,
            &ScopeCatalogue::builtin(),
        )
        .unwrap_err();
        let fields: Vec<_> = errors.iter().map(|(f, _, _)| f).collect();
        assert_eq!(
            fields,
            [
                "client_name",
                "client_uri",
                "logo",
                "tos_uri",
                "policy_uri",
                "contacts",
                "initiation_uri",
                "settings_uri",
                "client_type",
                "redirect_uris",
                "scopes",
                "pkce"
            ]
        );
    }

    #[test]
    fn a_public_client_without_pkce_needs_an_exception_reference() {
        let mut input = valid_input();
        input.client_type = "public".into();
        input.pkce = "not_supported".into();
        let errors = parse(&input).unwrap_err();
        assert_eq!(errors.get("pkce_exception").len(), 1);

        input.pkce_exception = "PM-2041".into();
        assert_eq!(
            parse(&input).unwrap().pkce_exception.as_deref(),
            Some("PM-2041")
        );
    }

    #[test]
    fn an_exception_reference_is_dropped_when_pkce_is_supported() {
        let mut input = valid_input();
        input.pkce_exception = "PM-1".into();
        assert_eq!(parse(&input).unwrap().pkce_exception, None);
    }

    #[test]
    fn a_long_scope_reason_and_an_unknown_subject_type_are_refused() {
        let mut input = valid_input();
        input.scope_reason = "x".repeat(1001);
        input.subject_type = "person".into();
        let errors = parse(&input).unwrap_err();
        assert!(errors.get("scope_reason")[0].contains("1001"));
        assert!(errors.get("subject_type")[0].contains("company"));
    }
}
