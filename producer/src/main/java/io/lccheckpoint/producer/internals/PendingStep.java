package io.lccheckpoint.producer.internals;

import io.lccheckpoint.producer.CheckpointProducer.StepReceipt;
import io.lccheckpoint.producer.SplitPlanner.Split;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * A step handed from the trainer's thread to the sender: a snapshot of its values (the sender computes the deltas and
 * builds the records), the receipt the trainer holds, the buffer permits it took, and what split=auto learns from its
 * timing: {@code interval} is the trainer's own time since the last publish (back-pressure excluded), {@code period} the
 * whole time (included); NaN where not known. {@code split} is the split asked for when it was published, or null under
 * split=auto (the plan's word when it is built counts).
 */
public record PendingStep(long generation, Long resumedFrom, long step, Map<String, Object> snapshot, boolean initial,
                          CompletableFuture<StepReceipt> receipt, int permits, double interval, double period, Split split) {
}
