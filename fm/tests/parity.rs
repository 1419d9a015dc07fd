//! Parity with the reference sentence-transformers model, run whenever the wheel is present.

use coselect_fm::{cosine, find_wheel, read_model_files, Embedder};

#[test]
fn cosine_matches_reference_model() {
    let wheel = match find_wheel() {
        Ok(w) => w,
        Err(e) => {
            eprintln!("SKIPPED cosine_matches_reference_model: {e}");
            return;
        }
    };
    let files = read_model_files(&wheel).expect("wheel readable");
    let embedder = Embedder::load(&files).expect("model loads");
    let out = embedder
        .embed(&["A man is eating food.", "A man is eating a piece of bread."])
        .expect("embeds");
    let (a, b) = out.vectors.split_at(embedder.dim());
    let c = cosine(a, b);
    eprintln!("parity cosine = {c:.5}");
    assert!(
        (c - 0.755).abs() <= 0.002,
        "cosine {c} is not 0.755 +- 0.002"
    );
    assert_eq!(out.truncated, 0);
}

#[test]
fn padding_does_not_change_embeddings() {
    let Ok(wheel) = find_wheel() else {
        eprintln!("SKIPPED padding_does_not_change_embeddings: no wheel");
        return;
    };
    let embedder = Embedder::load(&read_model_files(&wheel).unwrap()).unwrap();
    let alone = embedder.embed(&["A man is eating food."]).unwrap();
    let long = "word ".repeat(60);
    let batched = embedder
        .embed(&["A man is eating food.", long.as_str()])
        .unwrap();
    let d = embedder.dim();
    for (x, y) in alone.vectors.iter().zip(&batched.vectors[..d]) {
        assert!((x - y).abs() < 1e-4, "{x} vs {y}");
    }
}

#[test]
fn long_text_is_truncated_and_counted() {
    let Ok(wheel) = find_wheel() else {
        eprintln!("SKIPPED long_text_is_truncated_and_counted: no wheel");
        return;
    };
    let embedder = Embedder::load(&read_model_files(&wheel).unwrap()).unwrap();
    let long = "apple ".repeat(400);
    let out = embedder.embed(&[long.as_str(), "short"]).unwrap();
    assert_eq!(out.truncated, 1);
    assert_eq!(out.vectors.len(), 2 * embedder.dim());
}
