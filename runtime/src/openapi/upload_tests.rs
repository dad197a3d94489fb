//! Uploads against the emulator: the client sends the checked multipart form, the emulator
//! parses and checks it as Feishu documents it and answers the key.

use std::time::Duration;

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::upload::Upload;
use super::{call, FeishuClient, OpenApiApp, OpenApiGrant};
use aviary_emulator::{Emulator, EmulatorConfig};

fn client(emu: &Emulator) -> FeishuClient {
    let config = EmulatorConfig::default();
    FeishuClient::new(OpenApiApp {
        app_id: config.app_id,
        app_secret: config.app_secret.as_str().into(),
        domain: emu.domain(),
        send_limits: Default::default(),
    })
    .unwrap()
}

const T: Duration = Duration::from_secs(10);

#[tokio::test]
async fn images_and_files_are_uploaded_as_multipart_and_answer_their_key() {
    let emu = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let c = client(&emu);
    let grant = OpenApiGrant::parse(&["POST /open-apis/im/v1"]).unwrap();
    let images = call::check("t", &grant, c.domain(), "POST", "/open-apis/im/v1/images").unwrap();
    let png: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let upload = Upload::new(
        r#"{"image_type":"message"}"#,
        "image",
        "chart.png",
        png.clone(),
    )
    .unwrap();
    let answer: Value =
        serde_json::from_str(&c.upload(&images, &upload, T).await.unwrap()).unwrap();
    let key = answer["data"]["image_key"].as_str().unwrap();
    assert!(key.starts_with("img_v3_"), "{answer}");

    let files = call::check("t", &grant, c.domain(), "POST", "/open-apis/im/v1/files").unwrap();
    let pdf = b"%PDF-1.4 tiny".to_vec();
    let form = r#"{"file_type":"pdf","file_name":"report.pdf"}"#;
    let upload = Upload::new(form, "file", "report.pdf", pdf.clone()).unwrap();
    let answer: Value = serde_json::from_str(&c.upload(&files, &upload, T).await.unwrap()).unwrap();
    let file_key = answer["data"]["file_key"].as_str().unwrap();

    let uploads = emu.uploads();
    assert_eq!(uploads.len(), 2);
    assert_eq!(uploads[0].key, key);
    assert_eq!(uploads[0].bytes, png.len());
    let digest: String = Sha256::digest(&png)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(uploads[0].sha256, digest, "the bytes arrived intact");
    assert_eq!(uploads[0].file_name, "chart.png");
    assert_eq!(uploads[1].key, file_key);
    assert_eq!(
        uploads[1].fields,
        [
            ("file_name".to_string(), "report.pdf".to_string()),
            ("file_type".to_string(), "pdf".to_string())
        ]
    );
    // The token went along, and the call log keeps the form without the bytes.
    let calls = emu.openapi_calls();
    let last = calls.last().unwrap();
    assert!(last
        .header("authorization")
        .unwrap()
        .starts_with("Bearer t-"));
    assert_eq!(last.body["files"][0]["bytes"], pdf.len());
    emu.shutdown().await;
}

#[tokio::test]
async fn the_emulator_refuses_an_upload_feishu_would_refuse() {
    let emu = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let c = client(&emu);
    let grant = OpenApiGrant::parse(&["POST /open-apis/im/v1"]).unwrap();
    let images = call::check("t", &grant, c.domain(), "POST", "/open-apis/im/v1/images").unwrap();
    let bad_type = Upload::new(r#"{"image_type":"banner"}"#, "image", "a.png", vec![1]).unwrap();
    let e = c
        .upload(&images, &bad_type, T)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("99992402") && e.contains("image_type"), "{e}");
    let wrong_part = Upload::new(r#"{"image_type":"message"}"#, "file", "a.png", vec![1]).unwrap();
    let e = c
        .upload(&images, &wrong_part, T)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("the file part `image` is required"), "{e}");
    // JSON to an upload API is not an upload.
    let e = c.request(&images, "{}", T).await.unwrap_err().to_string();
    assert!(e.contains("multipart/form-data"), "{e}");
    assert!(emu.uploads().is_empty());
    emu.shutdown().await;
}
