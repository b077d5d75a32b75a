"""The figures the chapters draw, grouped by subject; a chapter calls them as ``viz.plot_task(...)``.

- ``style``: the figures' size, type sizes and resolution (the book's column), the colours that
  mean something (the answer, a wrong pick, the query), alphabet and character names as a reader
  reads them (``alphabet_name``, ``character_name``);
- ``drawings``: drawings themselves: a character, the alphabets, tasks, episodes, pairs, mistakes;
- ``inputs``: what a model reads: masked drawings and their reconstructions, and the steps that
  make a picture from elsewhere a drawing;
- ``data_figures``: the data set and its pairs: alphabet sizes, ink, the two protocols, pair counts;
- ``results``: accuracy: N-way curves, accuracy against any setting, training histories,
  controlled comparisons, labels used;
- ``scores``: what scorers give: score bars, scores that are not a distribution, class rules, distances;
- ``diagrams``: how networks work: the siamese network, pairs against episodes, prototypes, the
  families of few-shot learners and what MAML learns (kept as SVG too: ``style.DiagramFigure``);
- ``recipes``: how a training recipe is set up: an episode, where a network is cut for transfer,
  the SimCLR pipeline (diagrams too, kept as SVG);
- ``tables``: result tables (Markdown) whose numbers read as numbers;
- ``embeddings``: embeddings on their principal axes, and how far each class spreads;
- ``widgets``: the interactive explorers (imported on its own: ``from oneshot_lib import widgets``);
- ``drawing_pad``: a pad to draw new symbols on and see a model name them (``from oneshot_lib import drawing_pad``).

Every figure fits the book's column (``style.COLUMN_INCHES``) with text of at least
``style.MIN_FONT_POINTS``, and a notebook that imports ``viz`` shows figures rendered at
``style.DPI`` and displayed at ``style.DISPLAY_DPI``, as the book does.

A function that draws one Axes takes ``ax`` (by default a new figure's) and returns that Axes; one
that draws several panels makes its own Figure and returns it. Every function takes data, records
or arrays, never a file: the benchmarks' results come as ``scoring.comparisons`` records.
"""

from oneshot_lib.viz.data_figures import (
    plot_characters_per_alphabet,
    plot_distinct_pairs_seen,
    plot_ink_fraction,
    plot_monte_carlo_rate,
    plot_protocols,
    plot_same_class_fraction,
)
from oneshot_lib.viz.diagrams import (
    plot_adaptation_paths,
    plot_method_families,
    plot_pairs_against_episodes,
    plot_prototypes_and_attention,
    plot_siamese_diagram,
    siamese_tower,
)
from oneshot_lib.viz.drawings import (
    draw_drawing,
    plot_alphabet_gallery,
    plot_character,
    plot_distortion_gallery,
    plot_drawing_row,
    plot_episode,
    plot_mistakes,
    plot_pair_batch,
    plot_shifted_copies,
    plot_task,
)
from oneshot_lib.viz.embeddings import plot_class_spread, plot_embedding_projections
from oneshot_lib.viz.inputs import plot_drawing_steps, plot_masked_reconstructions
from oneshot_lib.viz.recipes import plot_episode_recipe, plot_simclr_pipeline, plot_transfer_cuts
from oneshot_lib.viz.results import (
    plot_accuracy_curves,
    plot_controlled_comparison,
    plot_labels_used,
    plot_n_way_curves,
    plot_support_methods,
    plot_training_history,
)
from oneshot_lib.viz.scores import (
    plot_class_rules,
    plot_distance_histograms,
    plot_identity_scores,
    plot_independent_scores,
    plot_score_bars,
    plot_shift_experiment,
)
from oneshot_lib.viz.style import alphabet_name, character_name, show_figures_sharp
from oneshot_lib.viz.tables import accuracy_cell, results_table

show_figures_sharp()  # in a notebook, figures are shown as the book shows them (style)

__all__ = [
    "accuracy_cell",
    "alphabet_name",
    "character_name",
    "results_table",
    "plot_accuracy_curves",
    "plot_adaptation_paths",
    "plot_method_families",
    "draw_drawing",
    "plot_alphabet_gallery",
    "plot_character",
    "plot_characters_per_alphabet",
    "plot_class_rules",
    "plot_class_spread",
    "plot_controlled_comparison",
    "plot_distance_histograms",
    "plot_distinct_pairs_seen",
    "plot_distortion_gallery",
    "plot_drawing_row",
    "plot_drawing_steps",
    "plot_embedding_projections",
    "plot_episode",
    "plot_episode_recipe",
    "plot_identity_scores",
    "plot_independent_scores",
    "plot_ink_fraction",
    "plot_labels_used",
    "plot_masked_reconstructions",
    "plot_mistakes",
    "plot_monte_carlo_rate",
    "plot_n_way_curves",
    "plot_pair_batch",
    "plot_pairs_against_episodes",
    "plot_protocols",
    "plot_prototypes_and_attention",
    "plot_same_class_fraction",
    "plot_score_bars",
    "plot_shift_experiment",
    "plot_shifted_copies",
    "plot_siamese_diagram",
    "plot_simclr_pipeline",
    "plot_support_methods",
    "plot_task",
    "plot_training_history",
    "plot_transfer_cuts",
    "siamese_tower",
]
