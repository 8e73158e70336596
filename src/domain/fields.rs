//! The registration form's fields, once: their names, labels, hints and size limits. The
//! multipart reader's allow-list, the error summary, the labels of the pages and the revision
//! diff all read this table, so a field added here is accepted, labelled and compared.

use crate::domain::registration::RegistrationInput;

/// Where a field's value goes in [`RegistrationInput`].
#[derive(Clone, Copy)]
pub enum Slot {
    /// One text value.
    Text(fn(&mut RegistrationInput) -> &mut String),
    /// A value that may be sent several times (checkboxes).
    Many(fn(&mut RegistrationInput) -> &mut Vec<String>),
    /// The logo upload: read as bytes, not text.
    File,
}

pub struct Field {
    pub name: &'static str,
    pub label: &'static str,
    pub hint: &'static str,
    /// The form may leave it empty: its label says so.
    pub optional: bool,
    /// Bytes one value may have as it arrives (the logo has its own limit).
    pub max_bytes: usize,
    pub slot: Slot,
}

const KIB: usize = 1024;

/// In page order: the error summary and the diff list fields in this order.
pub const FIELDS: &[Field] = &[
    Field {
        name: "client_name",
        label: "Client name",
        hint: "The name end users see when they are asked to allow access. Up to 100 characters.",
        optional: false,
        max_bytes: 4 * KIB,
        slot: Slot::Text(|i| &mut i.client_name),
    },
    Field {
        name: "client_uri",
        label: "Client URI",
        hint: "Your application's home page, starting with https://.",
        optional: false,
        max_bytes: 4 * KIB,
        slot: Slot::Text(|i| &mut i.client_uri),
    },
    Field {
        name: "logo",
        label: "Logo",
        hint: "A square PNG, JPEG or WebP image, 128 to 4096 pixels a side, at most 1 MiB. We store a copy of at most 512×512 pixels.",
        optional: false,
        max_bytes: crate::domain::logo::MAX_LOGO_BYTES,
        slot: Slot::File,
    },
    Field {
        name: "tos_uri",
        label: "Terms of service",
        hint: "The address of your terms of service.",
        optional: false,
        max_bytes: 4 * KIB,
        slot: Slot::Text(|i| &mut i.tos_uri),
    },
    Field {
        name: "policy_uri",
        label: "Privacy policy",
        hint: "The address of your privacy policy.",
        optional: false,
        max_bytes: 4 * KIB,
        slot: Slot::Text(|i| &mut i.policy_uri),
    },
    Field {
        name: "contacts",
        label: "Contacts",
        hint: "1 to 10 email addresses, one per line or separated by commas. They receive the review outcome and the credentials.",
        optional: false,
        max_bytes: 4 * KIB,
        slot: Slot::Text(|i| &mut i.contacts),
    },
    Field {
        name: "initiation_uri",
        label: "Initiation URI",
        hint: "Where the platform sends a user who clicks Connect on your listing; your app starts the OAuth flow from there.",
        optional: false,
        max_bytes: 4 * KIB,
        slot: Slot::Text(|i| &mut i.initiation_uri),
    },
    Field {
        name: "settings_uri",
        label: "Settings URI",
        hint: "Where a connected user manages the integration in your application.",
        optional: false,
        max_bytes: 4 * KIB,
        slot: Slot::Text(|i| &mut i.settings_uri),
    },
    Field {
        name: "client_type",
        label: "Client type",
        hint: "Can your application keep a secret on a server you control?",
        optional: false,
        max_bytes: 4 * KIB,
        slot: Slot::Text(|i| &mut i.client_type),
    },
    Field {
        name: "redirect_uris",
        label: "Redirect URIs",
        hint: "1 to 20 addresses, one per line, where users return after they allow access. https only; http only for localhost in staging. No wildcards or fragments.",
        // 20 URIs of 2048 bytes, with line breaks and some slack for blank lines.
        optional: false,
        max_bytes: 48 * KIB,
        slot: Slot::Text(|i| &mut i.redirect_uris),
    },
    Field {
        name: "scopes",
        label: "Scopes",
        hint: "Ask only for what your application needs. Scopes that change data are reviewed more closely.",
        optional: false,
        max_bytes: 4 * KIB,
        slot: Slot::Many(|i| &mut i.scopes),
    },
    Field {
        name: "scope_reason",
        label: "Why these scopes",
        hint: "Tell the reviewer what your application does with each scope. Up to 1000 characters.",
        // 1000 characters of up to 4 bytes each.
        optional: true,
        max_bytes: 4 * KIB,
        slot: Slot::Text(|i| &mut i.scope_reason),
    },
    Field {
        name: "pkce",
        label: "PKCE",
        hint: "Proof Key for Code Exchange (RFC 7636) protects the authorization code. Public clients must support it.",
        optional: false,
        max_bytes: 4 * KIB,
        slot: Slot::Text(|i| &mut i.pkce),
    },
    Field {
        name: "pkce_exception",
        label: "PKCE exception reference",
        hint: "Only for a public client without PKCE: the exception reference agreed with your partner manager.",
        optional: false,
        max_bytes: 4 * KIB,
        slot: Slot::Text(|i| &mut i.pkce_exception),
    },
    Field {
        name: "subject_type",
        label: "Subject type preference",
        hint: "Which kind of account your application connects to, if it matters.",
        optional: true,
        max_bytes: 4 * KIB,
        slot: Slot::Text(|i| &mut i.subject_type),
    },
];

pub fn field(name: &str) -> Option<&'static Field> {
    FIELDS.iter().find(|f| f.name == name)
}

/// A field's label; "Form" for what is not a field (a message about the whole form).
pub fn label(name: &str) -> &'static str {
    field(name).map_or("Form", |f| f.label)
}

/// A field's label on the form: "(optional)" after those that may be left empty.
pub fn form_label(name: &str) -> String {
    match field(name) {
        Some(f) if f.optional => format!("{} (optional)", f.label),
        _ => label(name).to_owned(),
    }
}

/// A field's hint, as the form shows it under the label.
pub fn hint(name: &str) -> &'static str {
    field(name).map_or("", |f| f.hint)
}

/// A field's position in [`FIELDS`]: the order of the error summary.
pub fn position(name: &str) -> usize {
    FIELDS
        .iter()
        .position(|f| f.name == name)
        .unwrap_or(usize::MAX)
}

impl Field {
    /// This field's value in `input` as one text (several values one per line), for the diff.
    pub fn text(&self, input: &mut RegistrationInput) -> Option<String> {
        match self.slot {
            Slot::Text(slot) => Some(slot(input).clone()),
            Slot::Many(slot) => Some(slot(input).join("\n")),
            Slot::File => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_text_field_lands_in_its_own_slot() {
        let mut input = RegistrationInput::default();
        for f in FIELDS {
            match f.slot {
                Slot::Text(slot) => *slot(&mut input) = f.name.to_owned(),
                Slot::Many(slot) => slot(&mut input).push(f.name.to_owned()),
                Slot::File => {}
            }
        }
        for f in FIELDS.iter().filter(|f| !matches!(f.slot, Slot::File)) {
            assert_eq!(f.text(&mut input).as_deref(), Some(f.name), "{}", f.name);
        }
    }

    #[test]
    fn names_are_unique_and_labels_come_from_the_table() {
        for (i, f) in FIELDS.iter().enumerate() {
            assert_eq!(position(f.name), i, "{} is listed twice", f.name);
            assert_eq!(label(f.name), f.label);
        }
        assert_eq!(label("csrf_token"), "Form");
    }
}
