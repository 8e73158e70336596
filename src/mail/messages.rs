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
        })
    }
}
