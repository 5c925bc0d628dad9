package io.lccheckpoint.eval;

/** A full copy of the model every {@code interval} iterations (what users do today with torch.save). */
public final class FullCheckpoint implements CheckpointScheme {
    private final int interval;
    private float[] saved;
    private int savedIteration;

    public FullCheckpoint(int interval) {
        if (interval < 1) {
            throw new IllegalArgumentException("interval must be >= 1, was " + interval);
        }
        this.interval = interval;
    }

    @Override
    public String name() {
        return "full every " + interval;
    }

    @Override
    public void start(float[] initial) {
        saved = initial.clone();
        savedIteration = 0;
    }

    @Override
    public long checkpoint(int iteration, float[] state) {
        if (iteration % interval != 0) {
            return 0;
        }
        System.arraycopy(state, 0, saved, 0, state.length);
        savedIteration = iteration;
        return 4L * state.length;
    }

    @Override
    public float[] restore() {
        return saved.clone();
    }

    @Override
    public int restoredIteration() {
        return savedIteration;
    }
}
