package io.lccheckpoint.eval;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * A state of consecutive segments (weights, then optimizer moments) checkpointed each with its own scheme, as a job
 * gives groups of tensors their own coding options (issue #14): for example weights at 2-bit promotion and moments at
 * 3 bits. Counts each segment's bytes apart, so weights and moments can be reported separately.
 */
public final class SegmentedScheme implements CheckpointScheme {
    private final String name;
    private final List<String> segmentNames = new ArrayList<>();
    private final List<CheckpointScheme> schemes = new ArrayList<>();
    private final int segmentLength;
    private final Map<String, Long> bytes = new LinkedHashMap<>();

    /** Segments of {@code segmentLength} values each, in order, named and schemed by {@code segments}. */
    public SegmentedScheme(String name, int segmentLength, Map<String, Supplier<CheckpointScheme>> segments) {
        this.name = name;
        this.segmentLength = segmentLength;
        segments.forEach((segment, scheme) -> {
            segmentNames.add(segment);
            schemes.add(scheme.get());
            bytes.put(segment, 0L);
        });
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public void start(float[] initial) {
        check(initial);
        for (int s = 0; s < schemes.size(); s++) {
            schemes.get(s).start(slice(initial, s));
        }
    }

    @Override
    public long checkpoint(int iteration, float[] state) {
        check(state);
        long written = 0;
        for (int s = 0; s < schemes.size(); s++) {
            long segment = schemes.get(s).checkpoint(iteration, slice(state, s));
            bytes.merge(segmentNames.get(s), segment, Long::sum);
            written += segment;
        }
        return written;
    }

    @Override
    public float[] restore() {
        float[] state = new float[schemes.size() * segmentLength];
        for (int s = 0; s < schemes.size(); s++) {
            System.arraycopy(schemes.get(s).restore(), 0, state, s * segmentLength, segmentLength);
        }
        return state;
    }

    @Override
    public int restoredIteration() {
        // every segment's scheme restores its latest checkpoint; the oldest of them bounds the whole state
        return schemes.stream().mapToInt(CheckpointScheme::restoredIteration).min().orElse(0);
    }

    /** Bytes written per segment so far. */
    public Map<String, Long> bytesBySegment() {
        return Map.copyOf(bytes);
    }

    private float[] slice(float[] state, int segment) {
        return java.util.Arrays.copyOfRange(state, segment * segmentLength, (segment + 1) * segmentLength);
    }

    private void check(float[] state) {
        if (state.length != schemes.size() * segmentLength) {
            throw new IllegalArgumentException(name + ": a state of " + schemes.size() + " segments of " + segmentLength + " values, got " + state.length);
        }
    }
}
