"""Ground truth from people: the feedback store, label import, and the review queue.

The active-learning loop: predictions the model was least sure of are exported for review
(`feedback export-review`), reviewed labels come back (`feedback import`, or `POST /feedback`),
and `retrain` adds every labelled production row to the training data as a new DVC version.
"""
