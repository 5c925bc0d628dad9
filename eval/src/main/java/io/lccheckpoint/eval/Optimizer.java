package io.lccheckpoint.eval;

import java.util.Map;

/**
 * How a trainer turns a minibatch's gradient into a step. Its state (Adam's moments and step count; nothing for plain
 * SGD) is part of what an exact resume needs: a resumed run with a fresh optimizer is not the run that crashed.
 */
public interface Optimizer {
    /** Updates {@code parameters} in place from {@code gradient}, and the optimizer's own state. */
    void step(float[] parameters, float[] gradient);

    /**
     * The state tensors, named as PyTorch's {@code optimizer.state_dict()} names them for a one-tensor parameter group
     * ({@code exp_avg}, {@code exp_avg_sq}); copies. Empty when the optimizer keeps none.
     */
    Map<String, float[]> state();

    /** Steps taken (PyTorch's {@code step}): Adam's bias correction depends on it. */
    long steps();

    /** Continues from a saved state (as {@link #state} returned it) after {@code steps} steps. */
    void restore(Map<String, float[]> state, long steps);

    /** An optimizer with the same hyperparameters and a cold state (what a resume without optimizer state gets). */
    Optimizer fresh();
}
