//! One integration binary: the real server, a real SQLite file, real multipart bodies.

mod credentials;
mod durability;
mod helpers;
mod hostile;
mod mail;
mod register;
mod site;
mod smtp;
mod staff;
