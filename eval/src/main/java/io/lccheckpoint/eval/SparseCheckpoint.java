package io.lccheckpoint.eval;

import java.util.Arrays;

/**
 * The two partial baselines, stored as CSR (4-byte index + 4-byte value per entry, plus a 4-byte count) within a byte
 * budget per iteration:
 * <ul>
 *   <li>{@link Mode#SCAR}: the parameters that changed most since they were last saved get their current value saved
 *       (SCAR's priority: distance between the live value and the checkpointed one);</li>
 *   <li>{@link Mode#TOPN}: the n largest entries of the iteration's delta {@code u_t − u_{t−1}} are stored and added to
 *       the reconstruction; the rest of the delta is lost for good (no error feedback: the paper's TOPN baseline).</li>
 * </ul>
 * Ties are broken by index, so both are deterministic.
 */
public final class SparseCheckpoint implements CheckpointScheme {
    public enum Mode { SCAR, TOPN }

    static final int ENTRY_BYTES = 8;
    static final int HEADER_BYTES = 4;

    private final Mode mode;
    private final long budgetBytes;
    private float[] saved;
    private float[] previous;
    private int lastIteration;

    public SparseCheckpoint(Mode mode, long budgetBytes) {
        if (budgetBytes < HEADER_BYTES + ENTRY_BYTES) {
            throw new IllegalArgumentException("a budget of " + budgetBytes + " bytes holds no entry");
        }
        this.mode = mode;
        this.budgetBytes = budgetBytes;
    }

    /** Entries that fit in the budget. */
    public int entries() {
        return (int) ((budgetBytes - HEADER_BYTES) / ENTRY_BYTES);
    }

    @Override
    public String name() {
        return mode.name() + " " + budgetBytes + " B";
    }

    @Override
    public void start(float[] initial) {
        saved = initial.clone();
        previous = initial.clone();
        lastIteration = 0;
    }

    @Override
    public long checkpoint(int iteration, float[] state) {
        int n = Math.min(entries(), state.length);
        int[] chosen = largest(state, mode == Mode.SCAR ? saved : previous, n);
        for (int index : chosen) {
            if (mode == Mode.SCAR) {
                saved[index] = state[index];
            } else {
                saved[index] += state[index] - previous[index];
            }
        }
        System.arraycopy(state, 0, previous, 0, state.length);
        lastIteration = iteration;
        return HEADER_BYTES + (long) ENTRY_BYTES * chosen.length;
    }

    /** Indices of the n largest |state − reference|, ties by index. */
    static int[] largest(float[] state, float[] reference, int n) {
        int length = state.length;
        long[] keyed = new long[length];
        for (int i = 0; i < length; i++) {
            float distance = Math.abs(state[i] - reference[i]);
            // non-negative floats order like their bits; negate for descending, index for ties
            keyed[i] = ((long) (Integer.MAX_VALUE - Float.floatToIntBits(distance)) << 32) | i;
        }
        Arrays.sort(keyed);
        int[] chosen = new int[n];
        for (int k = 0; k < n; k++) {
            chosen[k] = (int) keyed[k];
        }
        return chosen;
    }

    @Override
    public float[] restore() {
        return saved.clone();
    }

    @Override
    public int restoredIteration() {
        return lastIteration;
    }
}
