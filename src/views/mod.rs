//! Small pieces of presentation shared by several pages; `filters` holds the askama filters
//! every page shares.

pub mod filters;

use crate::domain::registration::RegistrationInput;
use crate::domain::revision::Revision;
use crate::domain::scopes::ScopeCatalogue;

/// A history event in words, for the staff and status pages.
pub fn event_label(kind: &str) -> &'static str {
    match kind {
        "submitted" => "Submitted for review",
        "resubmitted" => "Resubmitted with changes",
        "approved" => "Approved",
        "rejected" => "Rejected",
        "changes_requested" => "Changes requested",
        "secret_revealed" => "Client secret retrieved",
        "secret_rotated" => "Client secret rotated",
        "suspended" => "Suspended",
        "reinstated" => "Reinstated",
        "revoked" => "Revoked",
        "change_proposed" => "Change proposed",
        "change_replaced" => "Proposed change replaced by a newer one",
        "change_approved" => "Proposed change approved and live",
        "change_rejected" => "Proposed change rejected",
        "change_sent_back" => "Changes requested on the proposed change",
        _ => "Updated",
    }
}

/// What an end user would see when this client asks for access.
pub struct ConsentPreview {
    pub client_name: String,
    pub logo_url: Option<String>,
    pub tos_uri: String,
    pub policy_uri: String,
    /// (scope, plain-language description)
    pub scopes: Vec<(String, String)>,
}

impl ConsentPreview {
    pub fn from_input(
        input: &RegistrationInput,
        logo_url: Option<String>,
        catalogue: &ScopeCatalogue,
    ) -> ConsentPreview {
        let scopes = input
            .scopes
            .iter()
            .filter_map(|name| catalogue.scope(name))
            .map(|s| (s.name.clone(), s.description.clone()))
            .collect();
        ConsentPreview {
            client_name: input.client_name.trim().to_owned(),
            logo_url,
            tos_uri: input.tos_uri.trim().to_owned(),
            policy_uri: input.policy_uri.trim().to_owned(),
            scopes,
        }
    }

    pub fn from_revision(revision: &Revision, catalogue: &ScopeCatalogue) -> ConsentPreview {
        ConsentPreview::from_input(
            &revision.to_input(),
            Some(format!("/logos/{}.png", revision.logo.0)),
            catalogue,
        )
    }

    pub fn display_name(&self) -> &str {
        if self.client_name.is_empty() {
            "Your application"
        } else {
            &self.client_name
        }
    }

    /// Only real web links are rendered as links in the preview.
    pub fn is_web_link(uri: &str) -> bool {
        uri.starts_with("https://") || uri.starts_with("http://")
    }
}
