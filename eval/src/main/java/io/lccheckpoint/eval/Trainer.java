package io.lccheckpoint.eval;

/** A model the experiments can train, checkpoint (as one float32 vector) and evaluate. Deterministic per seed. */
public interface Trainer {
    /** One optimization step; returns the training loss of its minibatch. */
    double step();

    /** A copy of all parameters as one vector. */
    float[] parameters();

    void setParameters(float[] parameters);

    /**
     * Continues after a restart from a checkpointed {@code state} (as {@link #parameters} gave it) taken after
     * {@code iteration} iterations. By default the state is the parameters; a trainer whose state holds an optimizer's
     * too (and whose optimizer counts its steps) overrides this.
     */
    default void resumeFrom(float[] state, int iteration) {
        setParameters(state);
    }

    /** The evaluation loss the rework experiment watches. */
    double evaluationLoss();
}
