//! The technical contact email addresses of a partner.

use std::collections::HashSet;
use std::str::FromStr;

use lettre::Address;

/// Most distinct contacts one partner may list.
pub const MAX_CONTACTS: usize = 10;
/// Most bytes one email address may have (RFC 5321 forward-path limit less the brackets).
pub const MAX_ADDRESS_BYTES: usize = 254;

/// 1 to [`MAX_CONTACTS`] distinct email addresses, in the order entered. Addresses that
/// differ only in letter case are one contact, spelled as first entered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactList(Vec<Address>);

/// Why one entered address was refused. The address is echoed, shortened to 60
/// characters, with control characters replaced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidContact {
    #[error("\"{address}\" must not contain spaces, line breaks or other control characters.")]
    WhitespaceOrControl { address: String },
    #[error(
        "\"{address}\" is too long: an email address may have at most {max} bytes; it has {len}.",
        max = MAX_ADDRESS_BYTES
    )]
    TooLong { address: String, len: usize },
    #[error("\"{address}\" is not a valid email address.")]
    Invalid { address: String },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContactsError {
    #[error("Enter at least one contact email address.")]
    Empty,
    #[error("Enter at most {max} contacts; you entered {count}.", max = MAX_CONTACTS)]
    TooMany { count: usize },
    /// Every refused address, in the order entered.
    #[error("{}", join_sentences(.0))]
    Invalid(Vec<InvalidContact>),
}

impl ContactList {
    /// Parses addresses separated by line breaks and/or commas; blank entries are ignored.
    pub fn parse(input: &str) -> Result<ContactList, ContactsError> {
        let entries = || {
            input
                .split(['\n', ','])
                .map(str::trim)
                .filter(|e| !e.is_empty())
        };
        let raw_count = entries().count();
        if raw_count == 0 {
            return Err(ContactsError::Empty);
        }
        if raw_count > MAX_CONTACTS {
            // Duplicates collapse, so only distinct entries count against the limit.
            let count = entries()
                .map(str::to_lowercase)
                .collect::<HashSet<_>>()
                .len();
            if count > MAX_CONTACTS {
                return Err(ContactsError::TooMany { count });
            }
        }
        let mut seen = HashSet::new();
        let mut addresses = Vec::new();
        let mut errors = Vec::new();
        for entry in entries() {
            if !seen.insert(entry.to_lowercase()) {
                continue;
            }
            match parse_address(entry) {
                Ok(address) => addresses.push(address),
                Err(e) => errors.push(e),
            }
        }
        if errors.is_empty() {
            Ok(ContactList(addresses))
        } else {
            Err(ContactsError::Invalid(errors))
        }
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Address> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Always `false`: a parsed list holds at least one contact.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn as_strings(&self) -> Vec<String> {
        self.0.iter().map(|a| a.to_string()).collect()
    }
}

impl<'a> IntoIterator for &'a ContactList {
    type Item = &'a Address;
    type IntoIter = std::slice::Iter<'a, Address>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

fn parse_address(entry: &str) -> Result<Address, InvalidContact> {
    // lettre accepts spaces in quoted local parts and any non-ASCII character (such as
    // U+0085 NEXT LINE); neither belongs in a header we build, so refuse them first.
    if entry.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(InvalidContact::WhitespaceOrControl {
            address: crate::domain::shorten(entry),
        });
    }
    if entry.len() > MAX_ADDRESS_BYTES {
        return Err(InvalidContact::TooLong {
            address: crate::domain::shorten(entry),
            len: entry.len(),
        });
    }
    Address::from_str(entry).map_err(|_| InvalidContact::Invalid {
        address: crate::domain::shorten(entry),
    })
}

fn join_sentences(errors: &[InvalidContact]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn strings(input: &str) -> Vec<String> {
        ContactList::parse(input)
            .unwrap_or_else(|e| panic!("{input:?} should be accepted: {e}"))
            .as_strings()
    }

    fn invalid(input: &str) -> Vec<InvalidContact> {
        match ContactList::parse(input) {
            Err(ContactsError::Invalid(errors)) => errors,
            other => panic!("{input:?} should list invalid addresses, got {other:?}"),
        }
    }

    /// `local@domain` of exactly `len` bytes (len ≥ 133), with DNS labels of ≤ 63 bytes.
    fn address_of_len(len: usize) -> String {
        let local = "a".repeat(64);
        let mut domain = format!("{}.{}.", "b".repeat(63), "c".repeat(63));
        let rest = len - local.len() - 1 - domain.len() - ".com".len();
        domain.push_str(&"d".repeat(rest));
        domain.push_str(".com");
        format!("{local}@{domain}")
    }

    #[test]
    fn a_single_address_is_accepted() {
        assert_eq!(strings("ops@partner.example"), vec!["ops@partner.example"]);
    }

    #[test]
    fn comma_and_newline_separated_addresses_can_be_mixed() {
        let input = " a@x.example, b@x.example\r\nc@x.example\n\n d@x.example ,, e@x.example,\n";
        assert_eq!(
            strings(input),
            vec![
                "a@x.example",
                "b@x.example",
                "c@x.example",
                "d@x.example",
                "e@x.example"
            ]
        );
        let list = ContactList::parse(input).unwrap();
        assert_eq!(list.len(), 5);
        assert!(!list.is_empty());
        assert_eq!(list.iter().next().map(|a| a.domain()), Some("x.example"));
    }

    #[test]
    fn duplicates_collapse_case_insensitively_keeping_the_first_spelling() {
        let input =
            "Ops@Partner.example\nops@partner.example, OPS@PARTNER.EXAMPLE\nsec@partner.example";
        assert_eq!(
            strings(input),
            vec!["Ops@Partner.example", "sec@partner.example"]
        );
    }

    #[test]
    fn an_empty_or_blank_list_is_refused() {
        assert_eq!(ContactList::parse(""), Err(ContactsError::Empty));
        assert_eq!(ContactList::parse(" ,\r\n , \n"), Err(ContactsError::Empty));
        assert_eq!(
            ContactsError::Empty.to_string(),
            "Enter at least one contact email address."
        );
    }

    #[test]
    fn ten_contacts_are_accepted() {
        let input: Vec<String> = (1..=10).map(|i| format!("c{i}@x.example")).collect();
        assert_eq!(ContactList::parse(&input.join(",")).unwrap().len(), 10);
    }

    #[test]
    fn eleven_contacts_are_refused_with_the_count() {
        let input: Vec<String> = (1..=11).map(|i| format!("c{i}@x.example")).collect();
        assert_eq!(
            ContactList::parse(&input.join("\n")),
            Err(ContactsError::TooMany { count: 11 })
        );
    }

    #[test]
    fn the_too_many_message_names_the_limit_and_the_count() {
        let input: Vec<String> = (1..=12).map(|i| format!("c{i}@x.example")).collect();
        assert_eq!(
            ContactList::parse(&input.join(", "))
                .unwrap_err()
                .to_string(),
            "Enter at most 10 contacts; you entered 12."
        );
    }

    #[test]
    fn duplicates_do_not_count_against_the_limit() {
        let mut input: Vec<String> = (1..=10).map(|i| format!("c{i}@x.example")).collect();
        input.push("C1@X.EXAMPLE".to_owned());
        assert_eq!(ContactList::parse(&input.join("\n")).unwrap().len(), 10);
    }

    #[test]
    fn a_huge_list_is_refused_by_count_without_checking_each_address() {
        let input = "not-an-address,".repeat(5_000)
            + &(0..5_000).map(|i| format!("{i},")).collect::<String>();
        assert!(
            matches!(ContactList::parse(&input), Err(ContactsError::TooMany { count }) if count > 5_000)
        );
    }

    #[test]
    fn a_header_injection_attempt_is_refused() {
        // CR/LF separate entries, so the injected header becomes its own (invalid) entry.
        let errors = invalid("a@b.c\r\nBcc: x@y.z");
        assert_eq!(
            errors,
            vec![InvalidContact::WhitespaceOrControl {
                address: "Bcc: x@y.z".into()
            }]
        );
    }

    #[test]
    fn a_lone_carriage_return_inside_an_address_is_refused() {
        let errors = invalid("a@b.c\rBcc:x@y.z");
        assert_eq!(
            errors,
            vec![InvalidContact::WhitespaceOrControl {
                address: "a@b.c\u{FFFD}Bcc:x@y.z".into()
            }]
        );
    }

    #[test]
    fn unicode_line_breaks_and_other_controls_are_refused() {
        for input in [
            "a@b.c\u{85}x",
            "a\u{2028}b@c.example",
            "a\u{0}@b.example",
            "\"a b\"@c.example",
            "a\tb@c.example",
        ] {
            assert!(
                matches!(
                    invalid(input)[..],
                    [InvalidContact::WhitespaceOrControl { .. }]
                ),
                "{input:?}"
            );
        }
    }

    #[test]
    fn an_address_of_254_bytes_is_accepted() {
        let address = address_of_len(254);
        assert_eq!(address.len(), 254);
        assert_eq!(strings(&address), vec![address]);
    }

    #[test]
    fn an_address_of_255_bytes_is_refused_with_its_length() {
        let address = address_of_len(255);
        let errors = invalid(&address);
        assert!(
            matches!(&errors[..], [InvalidContact::TooLong { len: 255, address }] if address.chars().count() == 60),
            "{errors:?}"
        );
        assert!(
            errors[0]
                .to_string()
                .ends_with("is too long: an email address may have at most 254 bytes; it has 255.")
        );
    }

    #[test]
    fn malformed_addresses_are_refused() {
        for input in [
            "plainaddress",
            "@x.example",
            "a@",
            "a@@x.example",
            "a..b@x.example",
            "a@x..example",
            "a@-x.example",
            "<a@x.example>",
            "a@x.example>",
            "a;b@x.example",
        ] {
            assert_eq!(
                invalid(input),
                vec![InvalidContact::Invalid {
                    address: input.into()
                }],
                "{input}"
            );
        }
    }

    #[test]
    fn every_bad_address_is_named_at_once() {
        let err = ContactList::parse("ok@x.example, bad1, ok2@x.example\nbad 2").unwrap_err();
        assert_eq!(
            err,
            ContactsError::Invalid(vec![
                InvalidContact::Invalid {
                    address: "bad1".into()
                },
                InvalidContact::WhitespaceOrControl {
                    address: "bad 2".into()
                },
            ])
        );
        assert_eq!(
            err.to_string(),
            "\"bad1\" is not a valid email address. \
             \"bad 2\" must not contain spaces, line breaks or other control characters."
        );
    }

    #[test]
    fn a_repeated_bad_address_is_named_once() {
        assert_eq!(invalid("bad, BAD, bad").len(), 1);
    }

    #[test]
    fn a_long_bad_address_is_shortened_to_60_characters() {
        let entry = "x".repeat(200);
        let errors = invalid(&entry);
        let InvalidContact::Invalid { address } = &errors[0] else {
            panic!("{errors:?}");
        };
        assert_eq!(address.chars().count(), 60);
        assert!(address.ends_with('…'));
    }

    #[test]
    fn international_addresses_are_accepted_as_written() {
        assert_eq!(strings("josé@bücher.example"), vec!["josé@bücher.example"]);
    }

    const EMAIL_LIKE: &str =
        "[a-zA-Z0-9.+_\"\\\\ -]{0,6}@?[a-z0-9.\\[\\]:-]{0,10}|[\r\n\t ,]{1,3}|\\PC{0,6}";

    proptest! {
        #[test]
        fn parsing_never_panics(s in any::<String>()) {
            let _ = ContactList::parse(&s);
        }

        #[test]
        fn accepted_contacts_have_no_line_breaks_or_controls(parts in proptest::collection::vec(EMAIL_LIKE, 0..14)) {
            let input = parts.concat();
            if let Ok(list) = ContactList::parse(&input) {
                prop_assert!((1..=MAX_CONTACTS).contains(&list.len()));
                for a in list.as_strings() {
                    prop_assert!(!a.contains('\r') && !a.contains('\n'));
                    prop_assert!(!a.chars().any(|c| c.is_control() || c.is_whitespace()));
                    prop_assert!(a.len() <= MAX_ADDRESS_BYTES);
                }
            }
        }

        #[test]
        fn parsing_is_idempotent(parts in proptest::collection::vec(EMAIL_LIKE, 0..14)) {
            let input = parts.concat();
            if let Ok(list) = ContactList::parse(&input) {
                prop_assert_eq!(ContactList::parse(&list.as_strings().join("\n")), Ok(list.clone()));
                prop_assert_eq!(ContactList::parse(&list.as_strings().join(", ")), Ok(list.clone()));
            }
        }
    }

    /// Lists of plausible addresses with any separators: accepted often enough that the check
    /// is known to run (most arbitrary strings are refused and would prove nothing).
    #[test]
    fn accepted_lists_are_idempotent_and_most_generated_lists_are_accepted() {
        use std::sync::atomic::{AtomicU32, Ordering};
        let (tried, accepted) = (&AtomicU32::new(0), &AtomicU32::new(0));
        proptest!(|(
            emails in proptest::collection::vec("[a-z]{1,6}(\\.[a-z]{1,4})?@[a-z]{1,8}\\.(example|test)", 1..5),
            seps in proptest::collection::vec("[\r\n,][ \t\r\n,]{0,2}", 5),
        )| {
            tried.fetch_add(1, Ordering::Relaxed);
            let input: String = emails.iter().zip(&seps).map(|(e, sep)| format!("{e}{sep}")).collect();
            if let Ok(list) = ContactList::parse(&input) {
                accepted.fetch_add(1, Ordering::Relaxed);
                prop_assert_eq!(ContactList::parse(&list.as_strings().join("\n")), Ok(list.clone()));
                prop_assert_eq!(ContactList::parse(&list.as_strings().join(", ")), Ok(list.clone()));
            }
        });
        let (tried, accepted) = (
            tried.load(Ordering::Relaxed),
            accepted.load(Ordering::Relaxed),
        );
        assert!(
            accepted * 2 >= tried,
            "only {accepted} of {tried} lists were accepted"
        );
    }
}
