package io.lccheckpoint.producer.internals;

import io.lccheckpoint.producer.CheckpointProducer.StepReceipt;
import io.lccheckpoint.producer.SplitPlanner.Split;
import io.lccheckpoint.producer.StepFailedException;
import io.lccheckpoint.schema.CheckpointPosition;
import io.lccheckpoint.schema.RawDeltaChunk;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.function.Supplier;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.InterruptException;
import org.apache.kafka.common.utils.Time;

/**
 * The producer's sender thread, as Kafka's {@code Sender}: {@link #runOnce} takes every step waiting when a transaction
 * starts and sends them in as few transactions as possible. A transaction of several whole steps keeps each step atomic,
 * and under load it amortizes the commit (~tens of ms on a broker) over the steps waiting for it. A step that asks the
 * encoder for a handover ends its transaction: the next step is coded with the state the encoder hands back once that one
 * is committed. The first failure is sticky: it fails every later step until the producer resumes.
 */
public final class Sender implements Runnable {
    private final String job;
    private final Producer<SpecificRecord, SpecificRecord> producer;
    private final StepQueue queue;
    private final StepRecords records;
    private final SplitController split;
    private final ProducerMetrics metrics;
    private final Supplier<HandoverReader> handovers;
    private final Collection<TensorSpec> tensors;
    private final long handoverTimeoutMs;
    private volatile Activity activity;
    private final Time time;
    private volatile boolean closing;
    private volatile Throwable failure;
    private volatile long lastCommittedStep = -1;

    public Sender(String job, Producer<SpecificRecord, SpecificRecord> producer, StepQueue queue, StepRecords records, SplitController split,
                  ProducerMetrics metrics, Supplier<HandoverReader> handovers, Collection<TensorSpec> tensors, long handoverTimeoutMs, Time time) {
        this.job = job;
        this.producer = producer;
        this.queue = queue;
        this.records = records;
        this.split = split;
        this.metrics = metrics;
        this.handovers = handovers;
        this.tensors = tensors;
        this.handoverTimeoutMs = handoverTimeoutMs;
        this.time = time;
        this.activity = new Activity("idle", time.nanoseconds());
    }

    @Override
    public void run() {
        while (!closing || !queue.isEmpty()) {
            try {
                runOnce();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** Sends the steps waiting (polling up to 100 ms for the first); their permits go back whatever happened. */
    public void runOnce() throws InterruptedException {
        List<PendingStep> batch = queue.next(100);
        try {
            if (!batch.isEmpty()) {
                send(batch);
            }
        } finally {
            queue.release(batch);
            doing("idle");
        }
    }

    /** Stops after the steps waiting are sent. */
    public void initiateClose() {
        closing = true;
    }

    /** What the sender is doing and for how long, for a publish that timed out: "idle", "building step 7", ... */
    public String activity() {
        Activity now = activity;
        return now.what() + " for " + String.format(java.util.Locale.ROOT, "%.1f s", (time.nanoseconds() - now.since()) / 1e9);
    }

    private void doing(String what) {
        activity = new Activity(what, time.nanoseconds());
    }

    private record Activity(String what, long since) {
    }

    /** The first failure since the last {@link #clearFailure}, or null. */
    public Throwable failure() {
        return failure;
    }

    /** The producer resumes: a new generation starts from a committed step. */
    public void clearFailure() {
        failure = null;
    }

    /** The last step committed (of any generation), -1 before the first. */
    public long lastCommittedStep() {
        return lastCommittedStep;
    }

    private void send(List<PendingStep> batch) {
        int next = 0;
        while (next < batch.size()) {
            List<PendingStep> part = new ArrayList<>();
            List<StepRecords.Built> built = new ArrayList<>();
            boolean awaitHandover = false;
            long start = time.nanoseconds();
            try {
                Throwable failed = failure;
                if (failed != null) {
                    throw new KafkaException("not sent: an earlier step failed (" + failed.getMessage() + ")", failed);
                }
                while (next < batch.size() && !awaitHandover) {
                    PendingStep step = batch.get(next++);
                    part.add(step);
                    doing("building step " + step.step() + " (" + next + " of the " + batch.size() + " steps taken)");
                    Split target = split.target(step, records::probe, records.current());
                    StepRecords.Probe probe = split.wantsProbe(step, target, records.current()) ? records.probe(step.snapshot()) : null;
                    StepRecords.Built stepRecords = records.build(step, target);
                    metrics.built(stepRecords);
                    split.built(step, stepRecords, probe);
                    built.add(stepRecords);
                    awaitHandover = stepRecords.handover() && !step.initial();
                }
                try (HandoverReader reader = awaitHandover ? handovers.get() : null) {
                    long sendStart = time.nanoseconds();
                    doing("sending a transaction of " + part.size() + " steps (" + part.get(0).step() + "-" + part.get(part.size() - 1).step() + ")");
                    producer.beginTransaction();
                    long[] bytes = new long[part.size()];
                    storeCoded(built, bytes);
                    for (int k = 0; k < part.size(); k++) {
                        for (ProducerRecord<SpecificRecord, SpecificRecord> record : built.get(k).records()) {
                            producer.send(record);
                            if (record.value() instanceof RawDeltaChunk chunk) {
                                bytes[k] += chunk.getValues().remaining();
                            }
                        }
                    }
                    doing("committing a transaction of " + part.size() + " steps (" + part.get(0).step() + "-" + part.get(part.size() - 1).step() + ")");
                    producer.commitTransaction();
                    long sent = 0;
                    for (long b : bytes) {
                        sent += b;
                    }
                    long now = time.nanoseconds();
                    split.transferred(built.get(built.size() - 1).split(), sent, (now - sendStart) / 1e9);
                    Duration elapsed = Duration.ofNanos(now - start);
                    long raw = 0;
                    for (StepRecords.Built step : built) {
                        raw += step.rawBytes();
                    }
                    // counted before the receipts complete: a trainer reading the metrics after a receipt sees its step
                    metrics.committed(part.size(), sent, raw, elapsed.toNanos() / 1e6);
                    lastCommittedStep = part.get(part.size() - 1).step();
                    for (int k = 0; k < part.size(); k++) {
                        PendingStep step = part.get(k);
                        split.committed(step, built.get(k));
                        step.receipt().complete(new StepReceipt(step.generation(), step.step(), built.get(k).chunks(), bytes[k], elapsed));
                    }
                    if (reader != null) {
                        PendingStep step = part.get(part.size() - 1);
                        doing("awaiting the encoder's handover of step " + step.step());
                        records.handedOver(reader.await(step.generation(), step.step(), tensors, handoverTimeoutMs), step.step());
                    }
                }
                split.afterTransaction(part.size(), built.get(built.size() - 1), records.current());
            } catch (RuntimeException e) {
                fail(e, part, batch.subList(next, batch.size()));
                next = batch.size();
            }
        }
    }

    /**
     * The first failure is the cause; later steps fail because of it and must not hide it. Nothing of {@code part} was
     * committed (its transaction is aborted, or left to be fenced), and {@code unsent} were never sent.
     */
    private void fail(RuntimeException e, List<PendingStep> part, List<PendingStep> unsent) {
        if (failure == null) {
            failure = e;
        }
        try {
            producer.abortTransaction();
        } catch (RuntimeException ignored) {
            // fenced, closed or no transaction open: nothing of these steps was committed either way
        }
        int failed = 0;
        for (PendingStep step : part) {
            if (!step.receipt().isDone()) {
                failed++;
                step.receipt().completeExceptionally(new StepFailedException(job, step.step(), "job " + job + ": step " + step.step()
                        + " was not committed: " + e.getMessage(), e));
            }
        }
        for (PendingStep step : unsent) {
            failed++;
            step.receipt().completeExceptionally(new StepFailedException(job, step.step(), "job " + job + ": step " + step.step()
                    + " was not sent: an earlier step failed (" + e.getMessage() + ")", e));
        }
        metrics.failed(failed);
    }

    /**
     * Writes the coded chunks of the steps to the checkpoint topic, waits for their positions and puts them in the notices
     * (before those are sent, in the same transaction).
     */
    private void storeCoded(List<StepRecords.Built> built, long[] bytes) {
        List<Future<RecordMetadata>> sent = new ArrayList<>();
        for (StepRecords.Built step : built) {
            for (StepRecords.Stored stored : step.stored()) {
                sent.add(producer.send(stored.record()));
            }
        }
        if (sent.isEmpty()) {
            return;
        }
        producer.flush();
        int next = 0;
        for (int k = 0; k < built.size(); k++) {
            for (StepRecords.Stored stored : built.get(k).stored()) {
                RecordMetadata at;
                try {
                    at = sent.get(next++).get();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new InterruptException(e);
                } catch (ExecutionException e) {
                    throw e.getCause() instanceof KafkaException cause ? cause : new KafkaException(e.getCause());
                }
                stored.notice().setStoredAt(new CheckpointPosition(at.partition(), at.offset()));
                bytes[k] += stored.bytes();
            }
        }
    }
}
