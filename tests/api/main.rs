//! One integration binary: the real server, a real SQLite file, real multipart bodies.

mod helpers;
mod register;
mod site;
