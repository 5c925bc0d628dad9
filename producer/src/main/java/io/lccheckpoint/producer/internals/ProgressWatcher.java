package io.lccheckpoint.producer.internals;

import io.lccheckpoint.producer.SplitPlanner;
import io.lccheckpoint.producer.SplitPlanner.Split;
import io.lccheckpoint.schema.StepComplete;
import io.lccheckpoint.schema.kafka.ProgressReader;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import org.apache.kafka.common.utils.Time;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * split=auto: watches the encoder's progress topic for this job's steps (a {@link ProgressReader}), and tells the planner how fast
 * the encoder is. Over windows of at least 6 seconds (the encoder commits about once a second, so its progress arrives
 * in bursts and a backlog of a few steps is normal): if it completed less than 70% of the values committed in the window,
 * it was the bottleneck and its time per value is the window over the values it completed; otherwise it kept up and is
 * not a limit for the split that ran.
 */
public final class ProgressWatcher {
    private static final Logger LOG = LoggerFactory.getLogger(ProgressWatcher.class);
    private static final double WINDOW_SECONDS = 6;

    /** A committed step the encoder has not finished: its values, generation and split, and the chunks done so far. */
    private static final class Pending {
        final long values;
        final long generation;
        final Split split;
        int chunksDone;

        Pending(long values, long generation, Split split) {
            this.values = values;
            this.generation = generation;
            this.split = split;
        }
    }

    private final String job;
    private final SplitPlanner planner;
    private final Time time;
    private final Map<Long, Pending> pending = new ConcurrentHashMap<>();
    private final ProgressReader reader;
    private boolean warned;
    private long windowStart;
    private long windowValues;
    private long windowCommitted;
    private Split windowSplit;
    private long lastValues = 1;

    /**
     * Starts watching: {@code follow} starts a {@link ProgressReader} of the job's notices for the listener it is given
     * (the reader owns its consumer and thread).
     */
    public ProgressWatcher(String job, Function<ProgressReader.Listener, ProgressReader> follow, SplitPlanner planner, Time time) {
        this.job = job;
        this.planner = planner;
        this.time = time;
        this.reader = follow.apply(this::notice);
    }

    /** A step committed with {@code values} values under {@code split}: the encoder is expected to finish it. */
    public void committed(long generation, long step, long values, Split split) {
        if (values > 0) {
            pending.put(step, new Pending(values, generation, split));
            lastValues = values;
            synchronized (this) {
                if (split == windowSplit) {
                    windowCommitted += values;
                }
            }
        }
    }

    /** At a plan: closes the window if it is long enough and tells the planner what it showed. */
    public synchronized void sample(Split split) {
        if (!warned && reader.failure().isPresent()) {
            warned = true;
            LOG.warn("job {}: the encoder watcher stopped ({}); split=auto plans without the encoder's speed", job, reader.failure().get().toString());
        }
        long now = time.nanoseconds();
        // a backlog holding steps of the other split (just after a switch) says nothing about this one's speed
        boolean mixed = pending.values().stream().anyMatch(p -> p.split != split);
        if (windowStart == 0 || windowSplit != split || mixed) {
            open(now, split);
            return;
        }
        double seconds = (now - windowStart) / 1e9;
        if (seconds < WINDOW_SECONDS) {
            return;
        }
        if (windowCommitted > 0 && windowValues < 0.7 * windowCommitted) {
            planner.encoder(split, seconds / Math.max(windowValues, lastValues));
        } else {
            planner.encoderKeepsUp(split);
        }
        open(now, split);
    }

    private void open(long now, Split split) {
        windowStart = now;
        windowValues = 0;
        windowCommitted = 0;
        windowSplit = split;
    }

    private synchronized void completedValues(long values, Split split) {
        if (windowSplit == split) {
            windowValues += values;
        }
    }

    /** A chunk of a step is coded: once all of a committed step's chunks are, its values count as completed. */
    private void notice(String noticeJob, StepComplete notice) {
        Pending state = pending.get(notice.getStep());
        if (state != null && state.generation == notice.getGeneration() && ++state.chunksDone == notice.getChunks()) {
            pending.remove(notice.getStep());
            completedValues(state.values, state.split);
        }
    }

    public void close() {
        reader.close();
    }
}
