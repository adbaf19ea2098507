#![no_main]
//! The API base-URL joiner: whatever the path (string or segments), a joined URL never leaves
//! its base.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((selector, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let bases = ["https://api.example/v1/", "https://api.example", "http://127.0.0.1:8080/a/b"];
    let Ok(base) = grantline::api::BaseUrl::new(bases[usize::from(*selector) % bases.len()]) else {
        return;
    };
    let joined = if selector & 0x80 == 0 {
        base.join(text.as_ref())
    } else {
        base.join(text.split('\u{1}').map(str::to_owned).collect::<Vec<_>>())
    };
    if let Ok(url) = joined {
        assert!(base.contains(&url), "{url} left {}", base.as_url());
        assert_eq!(url.host(), base.as_url().host());
        assert_eq!(url.scheme(), base.as_url().scheme());
    }
});
