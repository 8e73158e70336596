//! The scope catalogue (TOML, built in or from `SCOPES_FILE`) and the set of scopes a
//! registration asks for, which can only be built from catalogue entries.

use std::collections::BTreeSet;

use serde::Deserialize;

const BUILTIN: &str = include_str!("scopes.toml");

#[derive(Debug, Clone, Deserialize)]
pub struct Scope {
    pub name: String,
    pub description: String,
}

impl Scope {
    /// Write scopes change a company's data; reviewers look at them twice.
    pub fn is_write(&self) -> bool {
        self.name.ends_with(":write")
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Api {
    pub name: String,
    pub description: String,
    pub scopes: Vec<Scope>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScopeCatalogue {
    #[serde(rename = "api")]
    pub apis: Vec<Api>,
    #[serde(default)]
    pub subject_types: Vec<String>,
}

impl ScopeCatalogue {
    pub fn builtin() -> ScopeCatalogue {
        ScopeCatalogue::from_toml(BUILTIN).expect("the built-in catalogue is valid")
    }

    pub fn from_toml(text: &str) -> Result<ScopeCatalogue, String> {
        let catalogue: ScopeCatalogue =
            toml::from_str(text).map_err(|e| format!("not a valid scope catalogue: {e}"))?;
        let mut seen = BTreeSet::new();
        for scope in catalogue.apis.iter().flat_map(|api| &api.scopes) {
            if scope.name.is_empty() || scope.name.chars().any(|c| c.is_whitespace()) {
                return Err(format!(
                    "scope name {:?} is empty or has spaces",
                    scope.name
                ));
            }
            if !seen.insert(scope.name.as_str()) {
                return Err(format!("scope {} is listed twice", scope.name));
            }
        }
        if seen.is_empty() {
            return Err("the catalogue lists no scopes".into());
        }
        Ok(catalogue)
    }

    pub fn scope(&self, name: &str) -> Option<&Scope> {
        self.apis
            .iter()
            .flat_map(|api| &api.scopes)
            .find(|s| s.name == name)
    }

    pub fn has_subject_type(&self, value: &str) -> bool {
        self.subject_types.iter().any(|s| s == value)
    }
}

/// The kind of account a client prefers to connect to: one of the catalogue's subject types
/// when it was entered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubjectType(String);

impl SubjectType {
    /// `None` for no preference ("" or "none"); an error for a type not in the catalogue.
    pub fn parse(value: &str, catalogue: &ScopeCatalogue) -> Result<Option<SubjectType>, String> {
        let value = value.trim();
        if value.is_empty() || value == "none" {
            Ok(None)
        } else if catalogue.has_subject_type(value) {
            Ok(Some(SubjectType(value.to_owned())))
        } else {
            Err(format!(
                "Choose one of: none, {}.",
                catalogue.subject_types.join(", ")
            ))
        }
    }

    /// As stored: it passed `parse` when it was entered.
    pub fn from_stored(value: String) -> SubjectType {
        SubjectType(value)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One or more catalogue scopes, in catalogue-independent sorted order, without duplicates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeSet(BTreeSet<String>);

impl ScopeSet {
    pub fn parse<S: AsRef<str>>(
        values: &[S],
        catalogue: &ScopeCatalogue,
    ) -> Result<ScopeSet, String> {
        let mut set = BTreeSet::new();
        let mut unknown = Vec::new();
        for value in values {
            let value = value.as_ref().trim();
            match catalogue.scope(value) {
                Some(scope) => {
                    set.insert(scope.name.clone());
                }
                None => unknown.push(value.chars().take(60).collect::<String>()),
            }
        }
        if !unknown.is_empty() {
            return Err(format!(
                "These scopes are not in the catalogue: {}.",
                unknown.join(", ")
            ));
        }
        if set.is_empty() {
            return Err("Choose at least one scope.".into());
        }
        Ok(ScopeSet(set))
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    pub fn has_write(&self) -> bool {
        self.iter().any(|s| s.ends_with(":write"))
    }

    /// A set read back from storage, without today's catalogue: the names as stored, each
    /// once. Scopes since removed from the catalogue are for the reviewer flags to point out.
    pub fn from_stored<S: AsRef<str>>(values: &[S]) -> Result<ScopeSet, String> {
        let set: BTreeSet<String> = values.iter().map(|v| v.as_ref().to_owned()).collect();
        if set.is_empty() {
            return Err("No scope is stored.".into());
        }
        if let Some(bad) = set
            .iter()
            .find(|s| s.is_empty() || s.contains(char::is_whitespace))
        {
            return Err(format!("{bad:?} is not a scope name."));
        }
        Ok(ScopeSet(set))
    }

    /// RFC 6749 `scope`: space-separated.
    pub fn to_scope_string(&self) -> String {
        self.0.iter().cloned().collect::<Vec<_>>().join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_catalogue_holds_the_published_scopes() {
        let c = ScopeCatalogue::builtin();
        for name in [
            "users:read",
            "users:write",
            "export-jobs:read",
            "export-jobs:write",
            "export-items:read",
            "accounts:read",
            "accounts:write",
            "vendors:read",
            "vendors:write",
            "expenses:read",
        ] {
            assert!(c.scope(name).is_some(), "{name} missing");
        }
        assert_eq!(c.subject_types, ["company", "organisation"]);
    }

    #[test]
    fn scopes_outside_the_catalogue_are_refused_by_name() {
        let err =
            ScopeSet::parse(&["users:read", "admin:all"], &ScopeCatalogue::builtin()).unwrap_err();
        assert!(err.contains("admin:all"));
    }

    #[test]
    fn no_scope_is_refused_and_duplicates_collapse() {
        let c = ScopeCatalogue::builtin();
        assert!(ScopeSet::parse::<&str>(&[], &c).is_err());
        let set = ScopeSet::parse(&["users:write", "users:write", "users:read"], &c).unwrap();
        assert_eq!(set.to_scope_string(), "users:read users:write");
        assert!(set.has_write());
    }

    #[test]
    fn a_catalogue_with_a_duplicate_scope_is_refused() {
        let text = r#"
            [[api]]
            name = "A"
            description = "a"
            scopes = [{ name = "a:read", description = "x" }, { name = "a:read", description = "y" }]
        "#;
        assert!(
            ScopeCatalogue::from_toml(text)
                .unwrap_err()
                .contains("twice")
        );
    }
}
