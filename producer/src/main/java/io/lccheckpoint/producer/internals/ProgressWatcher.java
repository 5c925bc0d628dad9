package io.lccheckpoint.producer.internals;

import io.lccheckpoint.producer.SplitPlanner;
import io.lccheckpoint.producer.SplitPlanner.Split;
import io.lccheckpoint.schema.StepComplete;
import io.lccheckpoint.schema.kafka.SingleObjectSerde;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.utils.Time;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * split=auto: watches the encoder's progress topic for this job's steps, on its own thread, and tells the planner how fast
 * the encoder is. Over windows of at least 6 seconds (the encoder commits about once a second, so its progress arrives
 * in bursts and a backlog of a few steps is normal): if it completed less than 70% of the values committed in the window,
 * it was the bottleneck and its time per value is the window over the values it completed; otherwise it kept up and is
 * not a limit for the split that ran.
 */
public final class ProgressWatcher implements Runnable {
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
    private final String progressTopic;
    private final Supplier<Consumer<byte[], byte[]>> consumers;
    private final SplitPlanner planner;
    private final Time time;
    private final Map<Long, Pending> pending = new ConcurrentHashMap<>();
    private final Thread thread;
    private volatile boolean stop;
    private long windowStart;
    private long windowValues;
    private long windowCommitted;
    private Split windowSplit;
    private long lastValues = 1;

    /** Starts watching; {@code consumers} gives a read_committed consumer without a group, closed when this stops. */
    public ProgressWatcher(String job, String progressTopic, Supplier<Consumer<byte[], byte[]>> consumers, SplitPlanner planner, Time time) {
        this.job = job;
        this.progressTopic = progressTopic;
        this.consumers = consumers;
        this.planner = planner;
        this.time = time;
        this.thread = new Thread(this, "lcckpt-encoder-watcher-" + job);
        this.thread.setDaemon(true);
        this.thread.start();
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

    @Override
    public void run() {
        try (Consumer<byte[], byte[]> consumer = consumers.get()) {
            List<TopicPartition> partitions = new ArrayList<>();
            while (partitions.isEmpty() && !stop) {
                var infos = consumer.partitionsFor(progressTopic, Duration.ofSeconds(10));
                if (infos != null) {
                    infos.forEach(info -> partitions.add(new TopicPartition(progressTopic, info.partition())));
                }
                if (partitions.isEmpty()) {
                    Thread.sleep(1000); // the encoder creates its progress topic when it starts
                }
            }
            consumer.assign(partitions);
            consumer.seekToEnd(partitions);
            byte[] key = job.getBytes(StandardCharsets.UTF_8);
            while (!stop) {
                for (var record : consumer.poll(Duration.ofMillis(200))) {
                    if (record.key() == null || !Arrays.equals(record.key(), key)) {
                        continue;
                    }
                    if (SingleObjectSerde.decode(record.value()) instanceof StepComplete notice) {
                        Pending state = pending.get(notice.getStep());
                        if (state != null && state.generation == notice.getGeneration() && ++state.chunksDone == notice.getChunks()) {
                            pending.remove(notice.getStep());
                            completedValues(state.values, state.split);
                        }
                    }
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            if (!stop) {
                LOG.warn("job {}: the encoder watcher stopped ({}); split=auto plans without the encoder's speed", job, e.toString());
            }
        }
    }

    public void close() {
        stop = true;
        try {
            thread.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
