//! A revision as read back from the database: every field in its domain type, or, when a
//! stored value no longer parses (the rules changed since), that value as stored with the
//! reason. Nothing stored is ever dropped: the pages show the raw value and the reviewer
//! flags say which field no longer passes.

use std::fmt;

use crate::domain::AppEnv;
use crate::domain::client_name::ClientName;
use crate::domain::contacts::ContactList;
use crate::domain::fields::{FIELDS, Slot};
use crate::domain::redirect_uri::{RedirectUri, RedirectUris};
use crate::domain::registration::{ClientType, LogoId, Pkce, RegistrationInput};
use crate::domain::scopes::{ScopeCatalogue, ScopeSet, SubjectType};
use crate::domain::web_url::WebUrl;

/// Stored values are read back under the widest rules any environment has (staging's, which
/// also accept http): what was accepted when it was stored parses again whatever `APP_ENV`
/// is today, and the flags, not the parse, say what deserves a second look.
pub const STORED_RULES: AppEnv = AppEnv::Staging;

/// A value read back from storage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stored<T> {
    Parsed(T),
    /// The value as stored (a list one item per line) and why it no longer parses.
    Unparsable {
        raw: String,
        error: String,
    },
}

impl<T> Stored<T> {
    pub fn of<E: fmt::Display>(raw: &str, parse: impl FnOnce(&str) -> Result<T, E>) -> Stored<T> {
        match parse(raw) {
            Ok(value) => Stored::Parsed(value),
            Err(e) => Stored::Unparsable {
                raw: raw.to_owned(),
                error: e.to_string(),
            },
        }
    }

    pub fn parsed(&self) -> Option<&T> {
        match self {
            Stored::Parsed(value) => Some(value),
            Stored::Unparsable { .. } => None,
        }
    }
}

impl<T: FormText> Stored<T> {
    /// The value as the form holds it: the parsed value's text, or the raw stored text.
    pub fn form_text(&self) -> String {
        match self {
            Stored::Parsed(value) => value.form_text(),
            Stored::Unparsable { raw, .. } => raw.clone(),
        }
    }

    /// One item per line of [`Stored::form_text`], for the lists on the pages.
    pub fn lines(&self) -> Vec<String> {
        self.form_text().lines().map(str::to_owned).collect()
    }
}

impl<T: FormText> fmt::Display for Stored<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.form_text())
    }
}

/// A value as the registration form holds it (lists one item per line).
pub trait FormText {
    fn form_text(&self) -> String;
}

impl FormText for ClientName {
    fn form_text(&self) -> String {
        self.as_str().to_owned()
    }
}
impl FormText for WebUrl {
    fn form_text(&self) -> String {
        self.as_str().to_owned()
    }
}
impl FormText for ContactList {
    fn form_text(&self) -> String {
        self.as_strings().join("\n")
    }
}
impl FormText for RedirectUris {
    fn form_text(&self) -> String {
        self.as_strings().join("\n")
    }
}
impl FormText for ScopeSet {
    fn form_text(&self) -> String {
        self.iter().collect::<Vec<_>>().join("\n")
    }
}
impl FormText for ClientType {
    fn form_text(&self) -> String {
        self.as_str().to_owned()
    }
}
impl FormText for Pkce {
    fn form_text(&self) -> String {
        self.as_str().to_owned()
    }
}

#[derive(Debug, Clone)]
pub struct Revision {
    pub submission_id: i64,
    pub number: i64,
    pub client_name: Stored<ClientName>,
    pub client_uri: Stored<WebUrl>,
    pub logo: LogoId,
    pub tos_uri: Stored<WebUrl>,
    pub policy_uri: Stored<WebUrl>,
    pub contacts: Stored<ContactList>,
    pub initiation_uri: Stored<WebUrl>,
    pub settings_uri: Stored<WebUrl>,
    pub client_type: Stored<ClientType>,
    pub redirect_uris: Stored<RedirectUris>,
    pub scopes: Stored<ScopeSet>,
    pub scope_reason: Option<String>,
    pub pkce: Stored<Pkce>,
    pub pkce_exception: Option<String>,
    pub subject_type: Option<SubjectType>,
    pub created_at: i64,
}

/// Something the reviewer should look at twice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flag {
    pub title: String,
    pub detail: String,
}

/// One field that differs from the previous revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub field: &'static str,
    pub before: String,
    pub after: String,
}

impl Revision {
    pub fn is_confidential(&self) -> bool {
        self.client_type.parsed() == Some(&ClientType::Confidential)
    }

    pub fn supports_pkce(&self) -> bool {
        self.pkce.parsed() == Some(&Pkce::Supported)
    }

    /// The form filled in with this revision, for editing (and for comparing revisions).
    pub fn to_input(&self) -> RegistrationInput {
        RegistrationInput {
            client_name: self.client_name.form_text(),
            client_uri: self.client_uri.form_text(),
            tos_uri: self.tos_uri.form_text(),
            policy_uri: self.policy_uri.form_text(),
            contacts: self.contacts.form_text(),
            initiation_uri: self.initiation_uri.form_text(),
            settings_uri: self.settings_uri.form_text(),
            client_type: self.client_type.form_text(),
            redirect_uris: self.redirect_uris.form_text(),
            scopes: self.scopes.lines(),
            scope_reason: self.scope_reason.clone().unwrap_or_default(),
            pkce: self.pkce.form_text(),
            pkce_exception: self.pkce_exception.clone().unwrap_or_default(),
            subject_type: self
                .subject_type
                .as_ref()
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default(),
        }
    }

    /// Fields whose stored value no longer parses: (label, raw value, reason).
    pub fn unparsable(&self) -> Vec<(&'static str, &str, &str)> {
        fn check<'a, T>(
            name: &str,
            value: &'a Stored<T>,
            out: &mut Vec<(&'static str, &'a str, &'a str)>,
        ) {
            if let Stored::Unparsable { raw, error } = value {
                out.push((crate::domain::fields::label(name), raw, error));
            }
        }
        let mut out = Vec::new();
        check("client_name", &self.client_name, &mut out);
        check("client_uri", &self.client_uri, &mut out);
        check("tos_uri", &self.tos_uri, &mut out);
        check("policy_uri", &self.policy_uri, &mut out);
        check("contacts", &self.contacts, &mut out);
        check("initiation_uri", &self.initiation_uri, &mut out);
        check("settings_uri", &self.settings_uri, &mut out);
        check("client_type", &self.client_type, &mut out);
        check("redirect_uris", &self.redirect_uris, &mut out);
        check("scopes", &self.scopes, &mut out);
        check("pkce", &self.pkce, &mut out);
        out
    }

    /// What the reviewer should look at twice, from the typed values alone: the same
    /// revision gets the same flags whatever the portal's settings are today.
    pub fn flags(&self, catalogue: &ScopeCatalogue) -> Vec<Flag> {
        let mut flags: Vec<Flag> = self
            .unparsable()
            .into_iter()
            .map(|(label, raw, error)| Flag {
                title: format!("{label} no longer passes the rules"),
                detail: format!("{raw} ({error})"),
            })
            .collect();
        if let Some(scopes) = self.scopes.parsed() {
            flags.extend(write_scopes(scopes.iter(), Flagging::All));
            let unknown: Vec<&str> = scopes
                .iter()
                .filter(|s| catalogue.scope(s).is_none())
                .collect();
            if !unknown.is_empty() {
                flags.push(Flag {
                    title: "Scopes no longer in the catalogue".into(),
                    detail: unknown.join(", "),
                });
            }
        }
        if let Some(uris) = self.redirect_uris.parsed() {
            flags.extend(redirect_risks(uris.iter(), Flagging::All));
        }
        if self.client_type.parsed() == Some(&ClientType::Public)
            && self.pkce.parsed() == Some(&Pkce::NotSupported)
        {
            flags.push(Flag {
                title: "Public client without PKCE".into(),
                detail: format!(
                    "Exception reference: {}",
                    self.pkce_exception.as_deref().unwrap_or("none")
                ),
            });
        }
        flags.push(Flag {
            title: "Scope reason".into(),
            detail: self
                .scope_reason
                .clone()
                .unwrap_or_else(|| "None given".into()),
        });
        flags
    }

    /// Every field of `before` beside the same field of `self`, in form order, each marked
    /// when it differs: how staff and partner see a proposal against the live revision.
    pub fn side_by_side(&self, before: &Revision) -> Vec<Compared> {
        let (mut b, mut a) = (before.to_input(), self.to_input());
        FIELDS
            .iter()
            .filter_map(|field| {
                let (before_text, after_text, changed) = match field.slot {
                    Slot::File if before.logo != self.logo => {
                        ("previous logo".to_owned(), "new logo".to_owned(), true)
                    }
                    Slot::File => ("current logo".to_owned(), "current logo".to_owned(), false),
                    _ => {
                        let (b, a) = (field.text(&mut b)?, field.text(&mut a)?);
                        let changed = b != a;
                        (b, a, changed)
                    }
                };
                Some(Compared {
                    changed,
                    change: Change {
                        field: field.label,
                        before: before_text,
                        after: after_text,
                    },
                })
            })
            .collect()
    }

    /// What changed from `before` to `self`, field by field, in form order.
    pub fn changes_since(&self, before: &Revision) -> Vec<Change> {
        self.side_by_side(before)
            .into_iter()
            .filter(|c| c.changed)
            .map(|c| c.change)
            .collect()
    }

    /// The reviewer flags a proposed change *adds* to the live revision `live` (SPEC §7): write
    /// scopes, `http` redirect URIs and open-redirector-looking ones that `live` did not have.
    /// What the client could already do is not flagged again.
    pub fn flags_added_since(&self, live: &Revision) -> Vec<Flag> {
        let mut flags = Vec::new();
        if let Some(scopes) = self.scopes.parsed() {
            let had: Vec<&str> = live.scopes.parsed().iter().flat_map(|s| s.iter()).collect();
            let added = scopes.iter().filter(|s| !had.contains(s));
            flags.extend(write_scopes(added, Flagging::Added));
        }
        if let Some(uris) = self.redirect_uris.parsed() {
            let had = live.redirect_uris.parsed();
            let had: Vec<&str> = had
                .iter()
                .flat_map(|u| u.iter())
                .map(|u| u.as_str())
                .collect();
            let added = uris.iter().filter(|u| !had.contains(&u.as_str()));
            flags.extend(redirect_risks(added, Flagging::Added));
        }
        flags
    }
}

/// Whether a flag is about everything a revision asks for, or only what a proposal adds.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Flagging {
    All,
    Added,
}

impl Flagging {
    fn title(self, all: &str, added: &str) -> String {
        match self {
            Flagging::All => all,
            Flagging::Added => added,
        }
        .to_owned()
    }
}

/// The write scopes among `scopes`, as one flag (none without any).
fn write_scopes<'a>(scopes: impl Iterator<Item = &'a str>, flagging: Flagging) -> Option<Flag> {
    let writes: Vec<&str> = scopes.filter(|s| s.ends_with(":write")).collect();
    (!writes.is_empty()).then(|| Flag {
        title: flagging.title("Write scopes", "New write scopes"),
        detail: writes.join(", "),
    })
}

/// The `http` redirect URIs among `uris` (one flag), and each that looks like an open
/// redirector (a flag each).
fn redirect_risks<'a>(
    uris: impl Iterator<Item = &'a RedirectUri> + Clone,
    flagging: Flagging,
) -> Vec<Flag> {
    let http: Vec<&str> = uris
        .clone()
        .filter(|u| u.is_http())
        .map(|u| u.as_str())
        .collect();
    let mut flags = Vec::new();
    if !http.is_empty() {
        flags.push(Flag {
            title: flagging.title("http redirect URIs", "New http redirect URIs"),
            detail: http.join(", "),
        });
    }
    for uri in uris {
        let params = uri.open_redirect_params();
        if !params.is_empty() {
            flags.push(Flag {
                title: flagging.title(
                    "Query looks like an open redirector",
                    "New redirect URI whose query looks like an open redirector",
                ),
                detail: format!("{} ({})", uri.as_str(), params.join(", ")),
            });
        }
    }
    flags
}

/// One field of two revisions side by side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compared {
    pub change: Change,
    pub changed: bool,
}
