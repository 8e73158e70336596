//! A submission's review status and the transitions staff may make.

/// Stored as the `as_str` text (the column's CHECK lists the same four).
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(rename_all = "snake_case")]
pub enum Status {
    Pending,
    ChangesRequested,
    Approved,
    Rejected,
}

impl Status {
    pub const ALL: [Status; 4] = [
        Status::Pending,
        Status::ChangesRequested,
        Status::Approved,
        Status::Rejected,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::ChangesRequested => "changes_requested",
            Status::Approved => "approved",
            Status::Rejected => "rejected",
        }
    }

    pub fn parse(value: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.as_str() == value)
    }

    pub fn label(self) -> &'static str {
        match self {
            Status::Pending => "Pending review",
            Status::ChangesRequested => "Changes requested",
            Status::Approved => "Approved",
            Status::Rejected => "Rejected",
        }
    }
}

/// What staff can do to a submission. Which status allows which action is decided here only:
/// the decision itself (`review`) and the buttons the detail page shows both ask `allows`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Approve,
    RequestChanges,
    Reject,
    /// Only for a confidential client: the caller checks the client type.
    RotateSecret,
}

impl Status {
    pub fn allows(self, action: Action) -> bool {
        use Action::*;
        use Status::*;
        matches!(
            (self, action),
            (Pending, Approve | RequestChanges | Reject)
                | (ChangesRequested, Reject)
                | (Approved, RotateSecret)
        )
    }
}

impl Action {
    /// The status a decision leads to; `None` for an action that keeps the status.
    pub fn leads_to(self) -> Option<Status> {
        match self {
            Action::Approve => Some(Status::Approved),
            Action::RequestChanges => Some(Status::ChangesRequested),
            Action::Reject => Some(Status::Rejected),
            Action::RotateSecret => None,
        }
    }

    /// How a refusal names it: "This submission is approved now, so it cannot be {past}."
    pub fn past(self) -> &'static str {
        match self {
            Action::Approve => "approved",
            Action::RequestChanges => "sent back for changes",
            Action::Reject => "rejected",
            Action::RotateSecret => "given a new secret",
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_pending_submission_can_be_approved_or_sent_back_and_a_decided_one_is_final() {
        use Action::*;
        let allowed = |status: Status| {
            [Approve, RequestChanges, Reject, RotateSecret]
                .into_iter()
                .filter(|a| status.allows(*a))
                .collect::<Vec<_>>()
        };
        assert_eq!(allowed(Status::Pending), [Approve, RequestChanges, Reject]);
        assert_eq!(allowed(Status::ChangesRequested), [Reject]);
        assert_eq!(allowed(Status::Approved), [RotateSecret]);
        assert_eq!(allowed(Status::Rejected), []);
    }
}
