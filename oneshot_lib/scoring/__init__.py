"""The scoring layer: what a scorer is and how any scorer is measured.

``images`` (the image-input gate), ``any_image`` (any picture, of any size, colour or polarity,
made an Omniglot-like drawing), ``contract`` (the scorer protocols and the checks every call
goes through), ``rules`` (class scores and predictions), ``embedding_cache``, ``evaluate``
(accuracy on tasks and Lake's runs, N-way curves, paired differences), ``baselines``, ``shifts``
(test-time shifts) and ``identity``.
"""
