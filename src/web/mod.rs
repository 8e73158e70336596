//! The HTTP edge every page shares: reading the multipart registration form under its limits,
//! and the one responder a page leaves through.

pub mod form;
pub mod page;
