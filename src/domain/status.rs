//! A submission's review status and the transitions staff may make.

/// Stored as the `as_str` text (the column's CHECK lists the same six). An approved client is
/// *Active*; later it can be suspended (and reinstated) or revoked, which is final (SPEC §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(rename_all = "snake_case")]
pub enum Status {
    Pending,
    ChangesRequested,
    Approved,
    Rejected,
    Suspended,
    Revoked,
}

impl Status {
    pub const ALL: [Status; 6] = [
        Status::Pending,
        Status::ChangesRequested,
        Status::Approved,
        Status::Rejected,
        Status::Suspended,
        Status::Revoked,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::ChangesRequested => "changes_requested",
            Status::Approved => "approved",
            Status::Rejected => "rejected",
            Status::Suspended => "suspended",
            Status::Revoked => "revoked",
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
            Status::Suspended => "Suspended",
            Status::Revoked => "Revoked",
        }
    }

    /// A client that was approved once: what `clients.json` lists with `status=all`.
    pub fn client_state(self) -> Option<&'static str> {
        match self {
            Status::Approved => Some("active"),
            Status::Suspended => Some("suspended"),
            Status::Revoked => Some("revoked"),
            Status::Pending | Status::ChangesRequested | Status::Rejected => None,
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
    Suspend,
    Reinstate,
    Revoke,
}

impl Status {
    pub fn allows(self, action: Action) -> bool {
        use Action::*;
        use Status::*;
        matches!(
            (self, action),
            (Pending, Approve | RequestChanges | Reject)
                | (ChangesRequested, Reject)
                | (Approved, RotateSecret | Suspend | Revoke)
                | (Suspended, Reinstate | Revoke)
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
            Action::Suspend => Some(Status::Suspended),
            Action::Reinstate => Some(Status::Approved),
            Action::Revoke => Some(Status::Revoked),
        }
    }

    /// The history event a status change records: the status it leads to, except that a
    /// reinstated client's history says so rather than "approved" a second time.
    pub fn event_kind(self) -> Option<&'static str> {
        match self {
            Action::Reinstate => Some("reinstated"),
            other => other.leads_to().map(Status::as_str),
        }
    }

    /// How a refusal names it: "This submission is approved now, so it cannot be {past}."
    pub fn past(self) -> &'static str {
        match self {
            Action::Approve => "approved",
            Action::RequestChanges => "sent back for changes",
            Action::Reject => "rejected",
            Action::RotateSecret => "given a new secret",
            Action::Suspend => "suspended",
            Action::Reinstate => "reinstated",
            Action::Revoke => "revoked",
        }
    }
}

/// Where a live client's proposed change stands (SPEC §7). The client keeps its own status
/// (active or suspended) and its live revision while a proposal waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(rename_all = "snake_case")]
pub enum ProposalState {
    /// *Change pending review*: listed in the *Pending review* queue.
    Pending,
    /// Sent back to the partner with the reviewer's message.
    ChangesRequested,
}

impl ProposalState {
    pub fn label(self) -> &'static str {
        match self {
            ProposalState::Pending => "Change pending review",
            ProposalState::ChangesRequested => "Changes requested on the proposed change",
        }
    }

    /// Whether staff may take `action` on this proposal of a client that is `client` now.
    /// A suspended client's proposal can only be discarded: approving it, or sending it back
    /// to a partner who cannot edit, waits until the client is reinstated.
    pub fn allows(self, action: Action, client: Status) -> bool {
        use Action::*;
        use ProposalState::*;
        matches!(
            (self, action, client),
            (Pending, Approve | RequestChanges, Status::Approved)
                | (
                    Pending | ChangesRequested,
                    Reject,
                    Status::Approved | Status::Suspended
                )
        )
    }
}

impl Status {
    /// Only an active client takes proposals from its partner (a suspended one once reinstated;
    /// a revoked one never).
    pub fn accepts_proposals(self) -> bool {
        self == Status::Approved
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
            [
                Approve,
                RequestChanges,
                Reject,
                RotateSecret,
                Suspend,
                Reinstate,
                Revoke,
            ]
            .into_iter()
            .filter(|a| status.allows(*a))
            .collect::<Vec<_>>()
        };
        assert_eq!(allowed(Status::Pending), [Approve, RequestChanges, Reject]);
        assert_eq!(allowed(Status::ChangesRequested), [Reject]);
        assert_eq!(allowed(Status::Approved), [RotateSecret, Suspend, Revoke]);
        assert_eq!(allowed(Status::Rejected), []);
        // A suspended client comes back or ends; a revoked one is final.
        assert_eq!(allowed(Status::Suspended), [Reinstate, Revoke]);
        assert_eq!(allowed(Status::Revoked), []);
    }

    #[test]
    fn a_proposal_is_approved_only_while_its_client_is_active_and_discarded_any_time_before_revocation()
     {
        use Action::*;
        use ProposalState::*;
        let allowed = |proposal: ProposalState, client: Status| {
            [Approve, RequestChanges, Reject]
                .into_iter()
                .filter(|a| proposal.allows(*a, client))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            allowed(Pending, Status::Approved),
            [Approve, RequestChanges, Reject]
        );
        assert_eq!(allowed(ChangesRequested, Status::Approved), [Reject]);
        assert_eq!(allowed(Pending, Status::Suspended), [Reject]);
        assert_eq!(allowed(Pending, Status::Revoked), []);
        assert!(Status::Approved.accepts_proposals());
        assert!(!Status::Suspended.accepts_proposals());
        assert!(!Status::Revoked.accepts_proposals());
    }
}
