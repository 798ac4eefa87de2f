"""cs231n_lib: the shared library of the numpy deep-learning course.

Reference layers (``layers``, ``fast_layers``, ``layer_utils``), models
(``classifiers``), update rules (``optim``), the ``Solver``, data loading
(``data``, with the embedded dataset in ``embedded``), hand-made image features
(``features``), the gradient checker (``gradient_check``), the checks used by the
notebooks' public tests (``checks``), plots (``vis``). ``datastep`` is ``make data``
(download and install CIFAR-10; no notebook imports it). The autograder is a separate
package, ``autograder``, which this library never imports.

Import submodules explicitly, e.g. ``from cs231n_lib.layers import affine_forward``.
"""

__version__ = "0.1.0"
