package io.lccheckpoint.encoder;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.function.LongConsumer;

/**
 * An increasing set of steps kept as arithmetic runs {@code first, first + stride, ..., last}: a chunk's coded steps
 * since its oldest retained superstep, whose records retention tombstones later. A trainer that publishes every step
 * (or every k-th) makes one run, so the set costs 20 bytes in the chunk's bookkeeping whatever its length; the per-step
 * list it replaces grew by 8 bytes a step and was written at every step (issue #12).
 */
final class StepRuns {
    /** Each run: {first, stride, count}; stride is 0 while count is 1. */
    private final List<long[]> runs = new ArrayList<>();

    /** Adds a step above every step held. */
    void add(long step) {
        if (!runs.isEmpty()) {
            long[] last = runs.get(runs.size() - 1);
            long end = last[0] + last[1] * (last[2] - 1);
            if (step <= end) {
                throw new IllegalArgumentException("step " + step + " is not above the last step held, " + end);
            }
            if (last[2] == 1) {
                last[1] = step - last[0];
                last[2] = 2;
                return;
            }
            if (step - end == last[1]) {
                last[2]++;
                return;
            }
        }
        runs.add(new long[] {step, 0, 1});
    }

    boolean isEmpty() {
        return runs.isEmpty();
    }

    /** The highest step held, or {@code none} if empty. */
    long last(long none) {
        if (runs.isEmpty()) {
            return none;
        }
        long[] last = runs.get(runs.size() - 1);
        return last[0] + last[1] * (last[2] - 1);
    }

    boolean contains(long step) {
        for (long[] run : runs) {
            long offset = step - run[0];
            if (offset >= 0 && (run[2] == 1 ? offset == 0 : offset % run[1] == 0 && offset / run[1] < run[2])) {
                return true;
            }
        }
        return false;
    }

    void forEach(LongConsumer action) {
        for (long[] run : runs) {
            for (long i = 0; i < run[2]; i++) {
                action.accept(run[0] + run[1] * i);
            }
        }
    }

    /** Removes the steps at or below {@code bound}, handing each to {@code removed} in order. */
    void removeUpTo(long bound, LongConsumer removed) {
        while (!runs.isEmpty()) {
            long[] run = runs.get(0);
            if (run[0] > bound) {
                return;
            }
            removed.accept(run[0]);
            if (run[2] == 1) {
                runs.remove(0);
            } else {
                run[0] += run[1];
                run[2]--;
                if (run[2] == 1) {
                    run[1] = 0;
                }
            }
        }
    }

    int serializedSize() {
        return 4 + 24 * runs.size();
    }

    void writeTo(ByteBuffer buffer) {
        buffer.putInt(runs.size());
        for (long[] run : runs) {
            buffer.putLong(run[0]).putLong(run[1]).putLong(run[2]);
        }
    }

    static StepRuns readFrom(ByteBuffer buffer) {
        StepRuns steps = new StepRuns();
        for (int i = buffer.getInt(); i > 0; i--) {
            steps.runs.add(new long[] {buffer.getLong(), buffer.getLong(), buffer.getLong()});
        }
        return steps;
    }

    List<Long> toList() {
        List<Long> steps = new ArrayList<>();
        forEach(steps::add);
        return steps;
    }
}
