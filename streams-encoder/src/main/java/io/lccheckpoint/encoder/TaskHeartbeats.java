package io.lccheckpoint.encoder;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * When each running task's stream thread last came round its loop: every processor schedules a wall-clock punctuation
 * that beats here, and Streams runs those between records and polls whatever the input. A beat that is old means the
 * thread is stuck inside a Kafka client call (a commit or a send waiting for a broker that is gone) or in a record.
 *
 * <p>Why the encoder watches this (issue #11): if a producer call inside Streams times out, Streams handles it as a
 * corrupted task and, under exactly-once v2, may commit or drop one task's work without its input offsets (its commit of
 * the other tasks shares their transaction). So the encoder's producer waits for the brokers far longer than Streams
 * would ({@code max.block.ms}), and before that wait can end in a timeout the encoder exits: an exit, like a SIGKILL,
 * leaves only whole transactions, and a restart goes on from them.
 */
final class TaskHeartbeats {
    private final Map<String, Long> lastBeat = new ConcurrentHashMap<>();
    private final LongSupplier clock;

    TaskHeartbeats(LongSupplier clock) {
        this.clock = clock;
    }

    TaskHeartbeats() {
        this(System::currentTimeMillis);
    }

    /**
     * Watches a processor's task from its {@code init}: a beat now and one every second from a wall-clock punctuator.
     * Returns the name to {@link #remove} in its {@code close}.
     */
    String watch(org.apache.kafka.streams.processor.api.ProcessorContext<?, ?> context, String role) {
        String task = role + " " + context.taskId();
        beat(task);
        context.schedule(java.time.Duration.ofSeconds(1), org.apache.kafka.streams.processor.PunctuationType.WALL_CLOCK_TIME, now -> beat(task));
        return task;
    }

    void beat(String task) {
        lastBeat.put(task, clock.getAsLong());
    }

    /** The task is closed or moved away: its thread no longer owes beats for it. */
    void remove(String task) {
        lastBeat.remove(task);
    }

    /** Milliseconds since the stalest running task last beat; 0 with no running task. */
    long longestSilenceMs() {
        long now = clock.getAsLong();
        long oldest = now;
        for (long beat : lastBeat.values()) {
            oldest = Math.min(oldest, beat);
        }
        return now - oldest;
    }

    /** The stalest task, for the log line. */
    String stalest() {
        return lastBeat.entrySet().stream().min(Map.Entry.comparingByValue()).map(Map.Entry::getKey).orElse("none");
    }
}
