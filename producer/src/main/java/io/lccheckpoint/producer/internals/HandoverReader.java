package io.lccheckpoint.producer.internals;

import io.lccheckpoint.codec.ChunkState;
import io.lccheckpoint.codec.ValueType;
import io.lccheckpoint.schema.ChunkStateHandover;
import io.lccheckpoint.schema.kafka.WireFormat;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.utils.Time;

/**
 * Reads the chunk states the encoder hands over after a step that asked for them (split switch storage → trainer).
 * Opened before that step is sent, so it reads from the handover topic's end at that moment: only new handovers.
 */
public final class HandoverReader implements AutoCloseable {
    private final Consumer<byte[], byte[]> consumer;
    private final String job;
    private final WireFormat wire;
    private final Time time;

    /** @param consumer a read_committed consumer without a group ({@link KafkaClients#consumerConfig}), closed with this reader */
    public HandoverReader(Consumer<byte[], byte[]> consumer, String job, String handoverTopic, WireFormat wire, Time time) {
        this.consumer = consumer;
        this.job = job;
        this.wire = wire;
        this.time = time;
        try {
            List<TopicPartition> partitions = new ArrayList<>();
            var infos = consumer.partitionsFor(handoverTopic, Duration.ofSeconds(30));
            if (infos != null) {
                infos.forEach(info -> partitions.add(new TopicPartition(handoverTopic, info.partition())));
            }
            if (partitions.isEmpty()) {
                throw new KafkaException("job " + job + ": handover topic " + handoverTopic + " does not exist (create it, or let lcckpt.create.topics do it)");
            }
            consumer.assign(partitions);
            consumer.seekToEnd(partitions);
            partitions.forEach(consumer::position);
        } catch (RuntimeException e) {
            consumer.close(Duration.ZERO);
            throw e;
        }
    }

    /** The state of every chunk of {@code tensors} after {@code step}, each checked against its checksum. */
    public Map<String, ChunkState[]> await(long generation, long step, Collection<TensorSpec> tensors, long timeoutMs) {
        Map<String, ChunkState[]> states = new HashMap<>();
        int missing = 0;
        for (TensorSpec spec : tensors) {
            states.put(spec.name(), new ChunkState[spec.chunkCount()]);
            missing += spec.chunkCount();
        }
        long deadline = time.nanoseconds() + timeoutMs * 1_000_000L;
        while (missing > 0) {
            if (time.nanoseconds() > deadline) {
                throw new KafkaException("job " + job + ", step " + step + ": the encoder did not hand over " + missing + " chunk states within "
                        + timeoutMs + " ms (is an encoder running for this job's topic prefix?)");
            }
            for (var record : consumer.poll(Duration.ofMillis(200))) {
                if (!(wire.decode(record.value()) instanceof ChunkStateHandover h) || h.getGeneration() != generation || h.getStep() != step) {
                    continue;
                }
                ChunkState[] slots = states.get(h.getTensor());
                if (slots == null || h.getChunk() < 0 || h.getChunk() >= slots.length) {
                    throw new KafkaException("job " + job + ", step " + step + ": handover for unknown chunk " + h.getTensor() + "/" + h.getChunk());
                }
                if (slots[h.getChunk()] == null) {
                    slots[h.getChunk()] = toState(h, step);
                    missing--;
                }
            }
        }
        return states;
    }

    private ChunkState toState(ChunkStateHandover h, long step) {
        ChunkState state = ChunkState.fromLittleEndian(ValueType.valueOf(h.getDtype().name()), h.getApprox(),
                h.getResidual());
        if (state.approxChecksum() != h.getChecksum()) {
            throw new KafkaException("job " + job + ", step " + step + ", tensor " + h.getTensor() + ", chunk " + h.getChunk()
                    + ": handed-over state fails its checksum");
        }
        return state;
    }

    @Override
    public void close() {
        consumer.close(Duration.ofSeconds(5));
    }
}
