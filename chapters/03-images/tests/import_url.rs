//! `import URL`: the tarball comes over HTTP from a server on loopback.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::Command;

/// Serves `body` once per connection, `count` times, answering 404 for any
/// path other than `/image.tar`. Returns the base URL.
fn serve(body: Vec<u8>, count: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().take(count) {
            let mut stream = stream.unwrap();
            let mut request = [0u8; 4096];
            let n = stream.read(&mut request).unwrap();
            let first_line = String::from_utf8_lossy(&request[..n])
                .lines()
                .next()
                .unwrap_or("")
                .to_string();
            let reply = if first_line.starts_with("GET /image.tar ") {
                let mut head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                )
                .into_bytes();
                head.extend_from_slice(&body);
                head
            } else {
                b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec()
            };
            let _ = stream.write_all(&reply);
        }
    });
    url
}

fn tarball() -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    let data = b"hello from a URL\n";
    let mut header = tar::Header::new_gnu();
    header.set_size(data.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    builder
        .append_data(&mut header, "greeting.txt", &data[..])
        .unwrap();
    builder.into_inner().unwrap()
}

#[test]
fn an_image_imported_from_a_url_is_stored_under_its_name_with_the_url_in_its_history() {
    let dir = tempfile::tempdir().unwrap();
    let url = serve(tarball(), 2);
    let ch03 = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_ch03"))
            .args(args)
            .env("BERTH_ROOT", dir.path().join("root"))
            .env("BERTH_RUN", dir.path().join("run"))
            .output()
            .unwrap()
    };
    let source = format!("{url}/image.tar");
    let out = ch03(&["import", &source, "example/imagerepo"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert!(id.starts_with("sha256:") && id.len() == 71, "{id}");

    let paths = berth_engine::state::Paths {
        root: dir.path().join("root"),
        run: dir.path().join("run"),
    };
    let store = berth_images::store::Store::open(&paths).unwrap();
    let image = store.resolve("example/imagerepo").unwrap();
    assert_eq!(image.id.to_string(), id);
    let config = store.config(&image).unwrap();
    let comment = config.history().as_ref().unwrap()[0]
        .comment()
        .clone()
        .unwrap();
    assert_eq!(comment, format!("Imported from {source}"));

    let missing = ch03(&["import", &format!("{url}/nothing.tar"), "x"]);
    assert_eq!(missing.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(
        stderr.contains("404") && stderr.lines().count() == 1,
        "{stderr}"
    );
    assert_eq!(
        store.images().unwrap().len(),
        1,
        "a failed import stores no image"
    );
}
