"""Measure and tune the music tags on the labelled dev clips (run once, by a developer).

    .venv/bin/python tools/tune_music_tags.py [--dev ../shared/data/dev] [--write]

For the GTZAN clips whose genre the two MusiCNN models have a tag for (blues, classical,
country, hip-hop, jazz, metal, pop, rock), prints the genre top-1 accuracy (the best
genre, as the product chooses it, is the clip's genre; also when only the eight GTZAN
genre tags compete), the precision and recall of the genre tags the product gives (the
best genre and any other over the threshold), and, for each threshold in a grid, the
precision and recall of the genre tags over it. The genre threshold chosen maximises F1 with precision counted twice (F0.5);
--write stores it in src/kenning/taxonomy/music_tags.json. Clips of genres the models
have no tag for (disco, reggae) are reported separately. Then the best genre on the 40
Emotify clips (classical, electronic, pop, rock).
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import numpy as np

from kenning.classifiers.base import MediaFile
from kenning.classifiers.music import MusicClassifier
from kenning.media.sniff import MediaKind
from kenning.taxonomy.music import TAXONOMY_DIR

GTZAN_TO_TAG = {"blues": "Blues", "classical": "Classical", "country": "Country",
                "hiphop": "Hip-Hop", "jazz": "Jazz", "metal": "Metal", "pop": "Pop",
                "rock": "Rock"}
GRID = np.round(np.arange(0.10, 0.61, 0.05), 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dev", type=Path, default=Path("../shared/data/dev"))
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    folder = args.dev / "music_gtzan_20"
    rows = list(csv.DictReader((folder / "manifest.csv").read_text().splitlines()))
    classifier = MusicClassifier()
    files = [MediaFile(i, folder / r["file"], MediaKind.AUDIO, "wav") for i, r in enumerate(rows)]
    prepared = classifier.prepare(files)
    means = classifier.infer(prepared)
    taxonomy = classifier.taxonomy
    genre_columns = [i for i, g in enumerate(taxonomy.groups) if g == "genre"]

    gtzan_columns = [taxonomy.tag_names.index(t) for t in GTZAN_TO_TAG.values()]
    correct = correct_among_gtzan = covered = given_right = given_all = 0
    scores, truths = [], []
    for row, report, mean in zip(rows, prepared.extras, means, strict=True):
        truth = GTZAN_TO_TAG.get(row["label"])
        if mean is None:
            print(f"{row['file']}: gate says {report.verdict}")
            continue
        top, score = taxonomy.top(mean)
        tag_scores = taxonomy.tag_scores(mean)
        print(f"{row['file']:20s} truth={truth or '(none: ' + row['label'] + ')':18s} "
              f"top={top} {score:.2f}")
        if truth:
            covered += 1
            correct += top == truth
            best_gtzan = max(gtzan_columns, key=lambda c: tag_scores[c])
            correct_among_gtzan += taxonomy.tag_names[best_gtzan] == truth
            given = {name for name, _ in taxonomy.tags(mean) if taxonomy.group_of(name) == "genre"}
            given_right += truth in given
            given_all += len(given)
            scores.append(tag_scores[genre_columns])
            truths.append([taxonomy.tag_names[c] == truth for c in genre_columns])
    print(f"genre_top1_covered: {correct}/{covered} = {correct / covered:.3f}")
    print(f"genre_top1_all_clips: {correct}/{len(rows)} = {correct / len(rows):.3f}")
    print(f"genre_top1_among_gtzan_genres: {correct_among_gtzan}/{covered} = "
          f"{correct_among_gtzan / covered:.3f}")
    print(f"genre_tags_given: precision {given_right / given_all:.2f} "
          f"recall {given_right / covered:.2f} ({given_all} tags on {covered} clips)")
    scores, truths = np.array(scores), np.array(truths)
    best = (0.0, None)
    for threshold in GRID:
        given = scores >= threshold
        tp = int((given & truths).sum())
        precision = tp / max(int(given.sum()), 1)
        recall = tp / truths.sum()
        f05 = 1.25 * precision * recall / max(0.25 * precision + recall, 1e-9)
        print(f"threshold {threshold:.2f}: precision {precision:.2f} recall {recall:.2f} "
              f"F0.5 {f05:.2f}")
        if f05 > best[0]:
            best = (f05, float(threshold))
    print(f"chosen_genre_threshold: {best[1]}")
    emotify(classifier, args.dev / "music_emotify_40")
    if args.write:
        path = TAXONOMY_DIR / "music_tags.json"
        data = json.loads(path.read_text())
        data["thresholds"]["genre"] = best[1]
        path.write_text(json.dumps(data, indent=1) + "\n")


def emotify_tops(classifier: MusicClassifier, folder: Path) -> list[tuple[str, str | None]]:
    """(label, best genre) for each Emotify clip (classical, electronic, pop, rock: each
    the name of a tag); None where the gate does not hear music."""
    rows = list(csv.DictReader((folder / "manifest.csv").read_text().splitlines()))
    files = [MediaFile(i, folder / r["file"], MediaKind.AUDIO, "mp3")
             for i, r in enumerate(rows)]
    prepared = classifier.prepare(files)
    return [(row["label"].capitalize(),
             None if mean is None else classifier.taxonomy.top(mean)[0])
            for row, mean in zip(rows, classifier.infer(prepared), strict=True)]


def emotify(classifier: MusicClassifier, folder: Path) -> None:
    """The best genre on the Emotify clips, and the clips the gate does not hear as music."""
    tops = emotify_tops(classifier, folder)
    for label, top in tops:
        if top != label:
            print(f"emotify {label}: {top or 'not music (gate)'}")
    right = sum(top == label for label, top in tops)
    print(f"emotify_genre_top1: {right}/{len(tops)} = {right / len(tops):.3f}")

if __name__ == "__main__":
    main()
