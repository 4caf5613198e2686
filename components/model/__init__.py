"""What the trainer and the evaluator share to build, feed and export a model.

```
recipe      how to rebuild the Estimator from a model_dir (canned estimator or user model_fn)
inputs      input_fns over the transformed examples
export      the serving SavedModel (raw tf.Example in, the transform graph inside)
eval_model  the serving model plus the label the transform graph computes, in memory
```

Imports flow one way: steps -> components.model -> components.artifacts, estimator_lib.

Example:
    >>> from components.model.recipe import ModelRecipe
    >>> estimator = ModelRecipe.read(model_dir).build_estimator(model_dir)
"""
