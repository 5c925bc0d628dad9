package io.lccheckpoint.eval;

/** A model the experiments can train, checkpoint (as one float32 vector) and evaluate. Deterministic per seed. */
public interface Trainer {
    /** One optimization step; returns the training loss of its minibatch. */
    double step();

    /** A copy of all parameters as one vector. */
    float[] parameters();

    void setParameters(float[] parameters);

    /** The evaluation loss the rework experiment watches. */
    double evaluationLoss();
}
