//! Every email the portal sends: a subject that names the client, a text part and an HTML part,
//! each from an askama template in `templates/mail/`. No message ever carries a client secret:
//! the types here have no field that could hold one.

use askama::Template;

#[derive(Debug, Clone)]
pub struct Email {
    pub kind: &'static str,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// Every link in the bodies that carries a token: the outbox stores these sealed
    /// (`mail::seal`), never in plain.
    pub links: Vec<String>,
}

/// Declares the text and HTML templates of a message whose data is `$data`.
macro_rules! message_templates {
    ($data:ident, $text:ident = $text_path:literal, $html:ident = $html_path:literal) => {
        #[derive(Template)]
        #[template(path = $text_path)]
        struct $text<'a> {
            m: &'a $data,
        }
        #[derive(Template)]
        #[template(path = $html_path)]
        struct $html<'a> {
            m: &'a $data,
        }
    };
}

pub struct Receipt {
    pub client_name: String,
    pub status_url: String,
}

message_templates!(
    Receipt,
    ReceiptText = "mail/receipt.txt",
    ReceiptHtml = "mail/receipt.html"
);

impl Receipt {
    pub fn render(&self) -> askama::Result<Email> {
        Ok(Email {
            kind: "receipt",
            subject: format!("We received your registration of {}", self.client_name),
            text: ReceiptText { m: self }.render()?,
            html: ReceiptHtml { m: self }.render()?,
            links: vec![self.status_url.clone()],
        })
    }
}

/// Staff approved the registration: the Client ID, what it may do, and what to do next.
pub struct Approved {
    pub client_name: String,
    pub client_id: String,
    /// (scope, plain-language description)
    pub scopes: Vec<(String, String)>,
    pub environment: String,
    /// Confidential clients only: the one-time link that reveals the secret (valid 7 days,
    /// works once). The secret itself does not exist yet when this is sent.
    pub credentials_url: Option<String>,
    pub status_url: String,
}

message_templates!(
    Approved,
    ApprovedText = "mail/approved.txt",
    ApprovedHtml = "mail/approved.html"
);

impl Approved {
    pub fn render(&self) -> askama::Result<Email> {
        Ok(Email {
            kind: "approved",
            subject: format!("{} is approved", self.client_name),
            text: ApprovedText { m: self }.render()?,
            html: ApprovedHtml { m: self }.render()?,
            links: self
                .credentials_url
                .iter()
                .chain([&self.status_url])
                .cloned()
                .collect(),
        })
    }
}

/// Staff asked for changes before they can approve.
pub struct ChangesRequested {
    pub client_name: String,
    pub message: String,
    pub edit_url: String,
    pub status_url: String,
}

message_templates!(
    ChangesRequested,
    ChangesRequestedText = "mail/changes_requested.txt",
    ChangesRequestedHtml = "mail/changes_requested.html"
);

impl ChangesRequested {
    pub fn render(&self) -> askama::Result<Email> {
        Ok(Email {
            kind: "changes_requested",
            subject: format!("Changes requested for {}", self.client_name),
            text: ChangesRequestedText { m: self }.render()?,
            html: ChangesRequestedHtml { m: self }.render()?,
            links: vec![self.edit_url.clone(), self.status_url.clone()],
        })
    }
}

/// Staff suspended, reinstated or revoked a live client (SPEC §7).
pub struct StandingChanged {
    pub client_name: String,
    pub client_id: String,
    /// "suspended", "reinstated" or "revoked".
    pub change: &'static str,
    /// Required to suspend or revoke; reinstating takes none.
    pub reason: Option<String>,
    pub status_url: String,
}

message_templates!(
    StandingChanged,
    StandingChangedText = "mail/standing_changed.txt",
    StandingChangedHtml = "mail/standing_changed.html"
);

impl StandingChanged {
    pub fn subject(&self) -> String {
        match self.change {
            "suspended" => format!("{} is suspended", self.client_name),
            "reinstated" => format!("{} is active again", self.client_name),
            _ => format!("{} is revoked", self.client_name),
        }
    }

    pub fn render(&self) -> askama::Result<Email> {
        Ok(Email {
            kind: self.change,
            subject: self.subject(),
            text: StandingChangedText { m: self }.render()?,
            html: StandingChangedHtml { m: self }.render()?,
            links: vec![self.status_url.clone()],
        })
    }
}

/// A proposed change to a live client (SPEC §7), at each step: received, approved, rejected
/// or sent back. The live client keeps working throughout; the emails say so.
pub struct ProposedChange {
    pub client_name: String,
    pub client_id: String,
    pub step: ProposalStep,
    pub status_url: String,
}

pub enum ProposalStep {
    Received,
    Approved,
    Rejected { reason: String },
    SentBack { message: String, edit_url: String },
}

message_templates!(
    ProposedChange,
    ProposedChangeText = "mail/proposed_change.txt",
    ProposedChangeHtml = "mail/proposed_change.html"
);

impl ProposedChange {
    pub fn subject(&self) -> String {
        let name = &self.client_name;
        match self.step {
            ProposalStep::Received => format!("We received your proposed change to {name}"),
            ProposalStep::Approved => format!("Your change to {name} is live"),
            ProposalStep::Rejected { .. } => format!("Your change to {name} was not approved"),
            ProposalStep::SentBack { .. } => format!("Changes requested for your change to {name}"),
        }
    }

    pub fn render(&self) -> askama::Result<Email> {
        let (kind, mut links) = match &self.step {
            ProposalStep::Received => ("change_received", vec![]),
            ProposalStep::Approved => ("change_approved", vec![]),
            ProposalStep::Rejected { .. } => ("change_rejected", vec![]),
            ProposalStep::SentBack { edit_url, .. } => ("change_sent_back", vec![edit_url.clone()]),
        };
        links.push(self.status_url.clone());
        Ok(Email {
            kind,
            subject: self.subject(),
            text: ProposedChangeText { m: self }.render()?,
            html: ProposedChangeHtml { m: self }.render()?,
            links,
        })
    }
}

/// Fresh status links for every registration an address is a contact of (`POST /links`).
pub struct LostLinks {
    /// (client name, status link)
    pub links: Vec<(String, String)>,
}

message_templates!(
    LostLinks,
    LostLinksText = "mail/lost_links.txt",
    LostLinksHtml = "mail/lost_links.html"
);

impl LostLinks {
    pub fn render(&self) -> askama::Result<Email> {
        let names: Vec<&str> = self.links.iter().map(|(n, _)| n.as_str()).collect();
        Ok(Email {
            kind: "lost_links",
            subject: format!("Your links for {}", names.join(", ")),
            text: LostLinksText { m: self }.render()?,
            html: LostLinksHtml { m: self }.render()?,
            links: self.links.iter().map(|(_, url)| url.clone()).collect(),
        })
    }
}

/// An admin invited someone to the staff: a one-time link to choose a password.
pub struct StaffInvitation {
    pub name: String,
    pub role: String,
    pub invited_by: String,
    pub invite_url: String,
}

message_templates!(
    StaffInvitation,
    StaffInvitationText = "mail/staff_invitation.txt",
    StaffInvitationHtml = "mail/staff_invitation.html"
);

impl StaffInvitation {
    pub fn render(&self) -> askama::Result<Email> {
        Ok(Email {
            kind: "staff_invitation",
            subject: "You are invited to the Partner Registry staff".to_owned(),
            text: StaffInvitationText { m: self }.render()?,
            html: StaffInvitationHtml { m: self }.render()?,
            links: vec![self.invite_url.clone()],
        })
    }
}

/// Staff rejected the registration.
pub struct Rejected {
    pub client_name: String,
    pub reason: String,
    pub status_url: String,
}

message_templates!(
    Rejected,
    RejectedText = "mail/rejected.txt",
    RejectedHtml = "mail/rejected.html"
);

impl Rejected {
    pub fn render(&self) -> askama::Result<Email> {
        Ok(Email {
            kind: "rejected",
            subject: format!("{} was not approved", self.client_name),
            text: RejectedText { m: self }.render()?,
            html: RejectedHtml { m: self }.render()?,
            links: vec![self.status_url.clone()],
        })
    }
}

/// The client secret was rotated: here is a new one-time link. With `overlap` the current
/// secret keeps working for 7 days after the new one is revealed; otherwise it stopped at once.
pub struct SecretRotated {
    pub client_name: String,
    pub client_id: String,
    pub credentials_url: String,
    pub overlap: bool,
}

message_templates!(
    SecretRotated,
    SecretRotatedText = "mail/secret_rotated.txt",
    SecretRotatedHtml = "mail/secret_rotated.html"
);

impl SecretRotated {
    pub fn render(&self) -> askama::Result<Email> {
        Ok(Email {
            kind: "secret_rotated",
            subject: format!("New client secret for {}", self.client_name),
            text: SecretRotatedText { m: self }.render()?,
            html: SecretRotatedHtml { m: self }.render()?,
            links: vec![self.credentials_url.clone()],
        })
    }
}

/// A client secret expires soon: when, and how to rotate before it does.
pub struct SecretExpiring {
    pub client_name: String,
    pub client_id: String,
    pub days: i64,
    /// RFC 3339, UTC.
    pub expires_at: String,
    pub status_url: String,
}

message_templates!(
    SecretExpiring,
    SecretExpiringText = "mail/secret_expiring.txt",
    SecretExpiringHtml = "mail/secret_expiring.html"
);

impl SecretExpiring {
    pub fn render(&self) -> askama::Result<Email> {
        Ok(Email {
            kind: "secret_expiring",
            subject: format!(
                "The client secret of {} expires in {} days",
                self.client_name, self.days
            ),
            text: SecretExpiringText { m: self }.render()?,
            html: SecretExpiringHtml { m: self }.render()?,
            links: vec![self.status_url.clone()],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVIL: &str = "<b>Evil</b>";
    const STATUS: &str = "https://registry.example/submissions/abc";
    const CREDENTIALS: &str = "https://registry.example/credentials/xyz";

    /// The subject names the client, both parts carry every link, and the HTML part shows
    /// the client's name as text, never as markup.
    fn assert_well_formed(email: &Email, links: &[&str]) {
        assert!(email.subject.contains(EVIL), "{}", email.subject);
        let mut sealed = email.links.clone();
        sealed.sort();
        let mut expected: Vec<String> = links.iter().map(|l| l.to_string()).collect();
        expected.sort();
        assert_eq!(
            sealed, expected,
            "every link with a token is sealed in the outbox"
        );
        for link in links {
            assert!(email.text.contains(link), "text lacks {link}");
            assert!(
                email.html.contains(&format!("href=\"{link}\"")),
                "html lacks {link}"
            );
        }
        assert!(email.text.contains(EVIL), "the text part is not HTML");
        assert!(!email.html.contains(EVIL));
        assert!(email.html.contains("&#60;b&#62;Evil&#60;/b&#62;"));
    }

    fn approved(credentials_url: Option<&str>) -> Approved {
        Approved {
            client_name: EVIL.into(),
            client_id: "0b7e3a52-3a4c-4a8e-9f57-6a1c8f0e2d11".into(),
            scopes: vec![
                ("users:read".into(), "Read users".into()),
                ("expenses:read".into(), "Read expenses".into()),
            ],
            environment: "staging".into(),
            credentials_url: credentials_url.map(str::to_owned),
            status_url: STATUS.into(),
        }
    }

    #[test]
    fn the_receipt_links_to_the_status_page() {
        let email = Receipt {
            client_name: EVIL.into(),
            status_url: STATUS.into(),
        }
        .render()
        .unwrap();
        assert_eq!(email.kind, "receipt");
        assert_well_formed(&email, &[STATUS]);
    }

    #[test]
    fn the_approval_of_a_confidential_client_has_its_id_scopes_environment_and_one_time_link() {
        let email = approved(Some(CREDENTIALS)).render().unwrap();
        assert_eq!(email.kind, "approved");
        assert_well_formed(&email, &[STATUS, CREDENTIALS]);
        for part in [&email.text, &email.html] {
            assert!(part.contains("0b7e3a52-3a4c-4a8e-9f57-6a1c8f0e2d11"));
            assert!(part.contains("users:read") && part.contains("Read expenses"));
            assert!(part.contains("staging"));
            assert!(part.contains("7 days") && part.contains("once"));
            assert!(part.contains("PKCE") && part.contains("redirect URI"));
        }
    }

    #[test]
    fn the_approval_of_a_public_client_has_no_credentials_link() {
        let email = approved(None).render().unwrap();
        assert_well_formed(&email, &[STATUS]);
        for part in [&email.text, &email.html] {
            assert!(!part.contains("/credentials/"));
            assert!(!part.contains("7 days"));
            assert!(part.contains("public client"));
        }
    }

    #[test]
    fn a_change_request_carries_the_message_and_the_edit_link() {
        let email = ChangesRequested {
            client_name: EVIL.into(),
            message: "Please use https for the redirect URI.".into(),
            edit_url: format!("{STATUS}/edit"),
            status_url: STATUS.into(),
        }
        .render()
        .unwrap();
        assert_eq!(email.kind, "changes_requested");
        assert_well_formed(&email, &[&format!("{STATUS}/edit"), STATUS]);
        assert!(
            email
                .text
                .contains("Please use https for the redirect URI.")
        );
        assert!(
            email
                .html
                .contains("Please use https for the redirect URI.")
        );
    }

    #[test]
    fn a_rejection_carries_the_reason() {
        let email = Rejected {
            client_name: EVIL.into(),
            reason: "We could not verify the <company>.".into(),
            status_url: STATUS.into(),
        }
        .render()
        .unwrap();
        assert_eq!(email.kind, "rejected");
        assert_well_formed(&email, &[STATUS]);
        assert!(email.text.contains("We could not verify the <company>."));
        assert!(
            !email.html.contains("<company>"),
            "the reason is escaped too"
        );
    }

    #[test]
    fn a_rotation_says_the_old_secret_stopped_and_links_to_the_new_one() {
        let email = SecretRotated {
            client_name: EVIL.into(),
            client_id: "0b7e3a52-3a4c-4a8e-9f57-6a1c8f0e2d11".into(),
            credentials_url: CREDENTIALS.into(),
            overlap: false,
        }
        .render()
        .unwrap();
        assert_eq!(email.kind, "secret_rotated");
        assert_well_formed(&email, &[CREDENTIALS]);
        for part in [&email.text, &email.html] {
            assert!(part.contains("0b7e3a52-3a4c-4a8e-9f57-6a1c8f0e2d11"));
            assert!(part.contains("stopped working"));
            assert!(part.contains("7 days") && part.contains("once"));
        }
    }
}
