//! Revisions read back into domain types: what the staff see of values stored under older rules.

use crate::helpers::*;

#[tokio::test]
async fn a_stored_value_that_no_longer_parses_is_shown_to_staff_not_dropped() {
    let app = spawn_app().await;
    let token = app.csrf_token("/register").await;
    let form = FormFields::valid(&token).set(
        "redirect_uris",
        "https://ledgerly.example/cb\nhttp://127.0.0.1:9000/cb",
    );
    let response = app.post_register(&form).await;
    let id = app.submission_id(&location(&response)).await;
    // As if the rules had changed since it was stored: a URI no environment accepts now.
    sqlx::query("UPDATE revisions SET redirect_uris = ? WHERE submission_id = ?")
        .bind(r#"["https://ledgerly.example/cb", "ftp://ledgerly.example/cb"]"#)
        .bind(id)
        .execute(&app.db)
        .await
        .unwrap();
    app.sign_in_staff().await;

    let page = app.get_html(&format!("/staff/submissions/{id}")).await;
    let flags = select(&page, "[data-flags] li").join("\n");
    assert!(
        flags.contains("Redirect URIs no longer passes the rules")
            && flags.contains("ftp://ledgerly.example/cb"),
        "{flags}"
    );
    let values = select(&page, ".values code").join("\n");
    assert!(values.contains("https://ledgerly.example/cb"), "{values}");
    assert!(values.contains("ftp://ledgerly.example/cb"), "{values}");

    let export: serde_json::Value = {
        assert_eq!(app.decide(id, "approve", &[]).await.status(), 303);
        let response = app.get("/staff/clients.json").await;
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    };
    assert_eq!(
        export[0]["redirect_uris"],
        serde_json::json!(["https://ledgerly.example/cb", "ftp://ledgerly.example/cb"])
    );
}
