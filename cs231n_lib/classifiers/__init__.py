"""Classifiers and models.

- ``k_nearest_neighbor``: ``KNearestNeighbor`` (L2 or L1 distances)
- ``linear_svm``, ``softmax``: losses of a linear classifier, naive and vectorised
- ``linear_classifier``: ``LinearClassifier``, ``LinearSVM``, ``Softmax`` trained by SGD
- ``fc_net``: ``TwoLayerNet``, ``FullyConnectedNet``
- ``cnn``: ``ThreeLayerConvNet``

Import from the submodules, e.g.
``from cs231n_lib.classifiers.k_nearest_neighbor import KNearestNeighbor``.
"""
