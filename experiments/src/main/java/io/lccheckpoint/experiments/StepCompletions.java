package io.lccheckpoint.experiments;

import io.lccheckpoint.schema.StepComplete;
import io.lccheckpoint.schema.kafka.ProgressReader;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.TimeUnit;

/**
 * When each step of some jobs completed at the encoder, from its progress topic ({@link ProgressReader}): a step is
 * complete when every one of its chunks is coded, and the time it was seen is kept for {@link #steadyStepSeconds}.
 */
final class StepCompletions implements AutoCloseable {
    private final Map<String, Map<Long, Integer>> counts = new HashMap<>();
    private final Map<String, Long> latest = new ConcurrentHashMap<>();
    private final Map<String, ConcurrentSkipListMap<Long, Long>> times = new ConcurrentHashMap<>();
    private final ProgressReader reader;

    /** Follows the jobs from the topic's end; waits (at most 2 minutes) for the encoder to create its progress topic. */
    StepCompletions(String bootstrapServers, String topic, String... jobs) throws InterruptedException {
        for (String job : jobs) {
            counts.put(job, new HashMap<>());
            latest.put(job, -1L);
            times.put(job, new ConcurrentSkipListMap<>());
        }
        reader = ProgressReader.follow(Map.of("bootstrap.servers", bootstrapServers), topic, Arrays.asList(jobs), this::notice);
        if (!reader.awaitPositioned(Duration.ofMinutes(2))) {
            reader.close();
            reader.failure().ifPresent(failure -> {
                throw failure;
            });
            throw new IllegalStateException("the encoder's progress topic " + topic + " did not appear");
        }
    }

    /** On the reader's thread. */
    private void notice(String job, StepComplete notice) {
        Map<Long, Integer> steps = counts.get(job);
        int count = steps.merge(notice.getStep(), 1, Integer::sum);
        if (count == notice.getChunks()) {
            steps.remove(notice.getStep());
            times.get(job).put(notice.getStep(), System.nanoTime());
            latest.merge(job, notice.getStep(), Math::max);
        }
    }

    /** True when every job has completed {@code step}. */
    boolean complete(long step) {
        reader.failure().ifPresent(failure -> {
            throw failure;
        });
        return latest.values().stream().allMatch(s -> s >= step);
    }

    void await(long step, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!complete(step)) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("step " + step + " of " + latest.keySet() + " did not complete within " + timeout + " (reached " + latest + ")");
            }
            TimeUnit.MILLISECONDS.sleep(20);
        }
    }

    /**
     * Seconds per step in the steady state: the least-squares slope of completion time against step over the second
     * half of the steps (the first half is warm-up, and for split=auto the time it takes to settle). The encoder
     * commits about once a second, so completions come in bursts: a slope over all of them is steadier than the time
     * between two of them.
     */
    double steadyStepSeconds(String job, long last) {
        var completed = times.get(job).subMap(Math.max(1, last / 2), true, last, true);
        if (completed.size() < 3) {
            return Double.NaN;
        }
        double n = completed.size();
        double sx = 0;
        double sy = 0;
        double sxx = 0;
        double sxy = 0;
        long origin = completed.firstEntry().getValue();
        for (var entry : completed.entrySet()) {
            double x = entry.getKey();
            double y = (entry.getValue() - origin) / 1e9;
            sx += x;
            sy += y;
            sxx += x * x;
            sxy += x * y;
        }
        return (n * sxy - sx * sy) / (n * sxx - sx * sx);
    }

    @Override
    public void close() {
        reader.close();
    }
}
