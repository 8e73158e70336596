//! One integration binary: the real server, a real SQLite file, real multipart bodies.

mod accounts;
mod anti_forgery;
mod audit;
mod client_addr;
mod client_life;
mod client_steps;
mod credentials;
mod durability;
mod expiry;
mod export_format;
mod feed;
mod helpers;
mod hostile;
mod login_limits;
mod lost_links;
mod mail;
mod mfa;
mod proposals;
mod read_model;
mod register;
mod review;
mod roles;
mod rotation;
mod secrets;
mod site;
#[path = "../support/smtp.rs"]
#[allow(dead_code)] // shared with the other test binary, which uses other parts
mod smtp;
mod uploads;
mod valid_html;
mod web;
