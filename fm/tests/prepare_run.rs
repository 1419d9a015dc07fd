//! End-to-end `prepare` on a tiny table with the real model, run whenever the wheel is present:
//! the folder's arrays, meta.json, skipping current work and determinism.

use coselect_fm::{
    find_wheel, prepare, read_matrix, EmbeddingDtype, Outcome, PrepareOptions, Source,
    CONCEPT_SCORES,
};

const ROWS: &str = "text,label
a small dog barking at the mailman,animal
a cat sleeping on the sofa,animal
a horse running in the field,animal
a red sports car on the highway,vehicle
a bus full of passengers,vehicle
a bicycle leaning against a wall,vehicle
";

#[test]
fn prepare_writes_a_current_folder_and_skips_reruns() {
    let Ok(wheel) = find_wheel() else {
        eprintln!("SKIPPED prepare_writes_a_current_folder_and_skips_reruns: no model wheel");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("pool.csv");
    std::fs::write(&table, ROWS).unwrap();
    let prompts = dir.path().join("prompts.json");
    std::fs::write(
        &prompts,
        r#"{"template": "a photo of {}", "classes": {"animal": "an animal", "vehicle": "a vehicle"}}"#,
    )
    .unwrap();
    let out = dir.path().join("ds");
    let mut opts = PrepareOptions::new(Source::Table(table), out.clone());
    opts.prompts = Some(prompts);
    opts.wheel = Some(wheel);
    opts.dtype = EmbeddingDtype::F16;
    opts.batch_size = 4;

    let first = prepare(&opts).unwrap();
    assert_eq!(first.outcome, Outcome::Computed);
    let meta = &first.meta;
    assert_eq!(meta.n_samples, 6);
    assert_eq!(meta.class_names, vec!["animal", "vehicle"]);
    assert_eq!(meta.classes[0].prompt, "a photo of an animal");
    assert_eq!(meta.temperature, 0.05);
    // The two classes are far apart for this model: the prior should get every row right.
    assert_eq!(meta.zero_shot.accuracy, 1.0);

    let (emb, n, d) = read_matrix(&out.join("embeddings.npy")).unwrap();
    assert_eq!((n, d), (6, 384));
    let norm: f32 = emb[..d].iter().map(|x| x * x).sum::<f32>().sqrt();
    assert!((norm - 1.0).abs() < 2e-3, "norm {norm}");
    let (scores, n, c) = read_matrix(&out.join("fm_scores.npy")).unwrap();
    assert_eq!((n, c), (6, 2));
    assert!(scores.iter().all(|s| s.abs() <= 1.0 / 0.05 + 1e-3));
    let labels = std::fs::read(out.join("labels.npy")).unwrap();
    let labels: Vec<i64> = npyz::NpyFile::new(&labels[..]).unwrap().into_vec().unwrap();
    assert_eq!(labels, vec![0, 0, 0, 1, 1, 1]);

    let snapshot = |name: &str| std::fs::read(out.join(name)).unwrap();
    let before: Vec<Vec<u8>> = ["embeddings.npy", "fm_scores.npy", "meta.json"]
        .iter()
        .map(|f| snapshot(f))
        .collect();

    assert_eq!(prepare(&opts).unwrap().outcome, Outcome::Skipped);

    // A new temperature keeps the embeddings and rescales the scores.
    let mut warmer = opts.clone();
    warmer.temperature = 0.1;
    assert_eq!(prepare(&warmer).unwrap().outcome, Outcome::ReusedEmbeddings);
    let (warm_scores, _, _) = read_matrix(&out.join("fm_scores.npy")).unwrap();
    for (a, b) in scores.iter().zip(&warm_scores) {
        assert!((a / 2.0 - b).abs() < 1e-5, "{a} / 2 != {b}");
    }

    // Recomputing from scratch gives byte-identical files.
    let mut again = opts.clone();
    again.force = true;
    assert_eq!(prepare(&again).unwrap().outcome, Outcome::Computed);
    for (name, old) in ["embeddings.npy", "fm_scores.npy", "meta.json"]
        .iter()
        .zip(&before)
    {
        assert!(&snapshot(name) == old, "{name} changed on a forced rerun");
    }
}

#[test]
fn prepare_scores_the_concepts_of_a_prompts_file() {
    let Ok(wheel) = find_wheel() else {
        eprintln!("SKIPPED prepare_scores_the_concepts_of_a_prompts_file: no model wheel");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("pool.csv");
    std::fs::write(&table, ROWS).unwrap();
    let prompts = dir.path().join("prompts.json");
    let classes = r#""classes": {"animal": "an animal", "vehicle": "a vehicle"}"#;
    std::fs::write(
        &prompts,
        format!(
            r#"{{"template": "a photo of {{}}", {classes},
                "concepts": {{"animal": ["a dog", "a cat", "a horse"]}}}}"#
        ),
    )
    .unwrap();
    let out = dir.path().join("ds");
    let mut opts = PrepareOptions::new(Source::Table(table), out.clone());
    opts.prompts = Some(prompts.clone());
    opts.wheel = Some(wheel);
    opts.batch_size = 4;

    let report = prepare(&opts).unwrap();
    let concepts: Vec<(usize, &str)> = report
        .meta
        .concepts
        .iter()
        .map(|c| (c.class, c.prompt.as_str()))
        .collect();
    assert_eq!(
        concepts,
        vec![
            (0, "a photo of a dog"),
            (0, "a photo of a cat"),
            (0, "a photo of a horse"),
            // A class without concepts is its own single concept.
            (1, "a photo of a vehicle"),
        ]
    );
    let (cs, n, m) = read_matrix(&out.join(CONCEPT_SCORES)).unwrap();
    assert_eq!((n, m), (6, 4));
    let (fm, _, c) = read_matrix(&out.join("fm_scores.npy")).unwrap();
    for row in 0..n {
        // The vehicle concept is the vehicle class prompt: the same column.
        assert_eq!(cs[row * m + 3], fm[row * c + 1]);
    }
    // Each animal row is closest to its own animal concept (dog, cat, horse in ROWS order).
    for (row, want) in [(0, 0), (1, 1), (2, 2)] {
        let r = &cs[row * m..row * m + 3];
        let best = (0..3).max_by(|&a, &b| r[a].total_cmp(&r[b])).unwrap();
        assert_eq!(best, want, "row {row}: {r:?}");
    }
    assert_eq!(prepare(&opts).unwrap().outcome, Outcome::Skipped);

    // Dropping the concepts keeps the embeddings and removes the concept file.
    std::fs::write(
        &prompts,
        format!(r#"{{"template": "a photo of {{}}", {classes}}}"#),
    )
    .unwrap();
    let report = prepare(&opts).unwrap();
    assert_eq!(report.outcome, Outcome::ReusedEmbeddings);
    assert!(report.meta.concepts.is_empty());
    assert!(!out.join(CONCEPT_SCORES).exists());
    let meta = std::fs::read_to_string(out.join("meta.json")).unwrap();
    assert!(!meta.contains("\"concepts\""));
}
