package io.lccheckpoint.eval;

/**
 * One way of checkpointing a training run (issue #4: full every K iterations, SCAR-style partial, TOPN, LC), all
 * measured in the bytes they really write. The model is one flat float32 vector; {@link #checkpoint} is called after
 * every iteration with the true state, {@link #restore} returns what a restart would get back.
 */
public interface CheckpointScheme {
    /** A short name for tables and plots. */
    String name();

    /** The state before training: stored losslessly by every scheme, not counted in the per-iteration bytes. */
    void start(float[] initial);

    /** Called after iteration {@code iteration} (1, 2, ...); returns the bytes this checkpoint wrote (0 if none). */
    long checkpoint(int iteration, float[] state);

    /** The state a restart recovers now. */
    float[] restore();

    /** The iteration whose state {@link #restore} returns, approximately for partial schemes: the last checkpoint. */
    int restoredIteration();
}
