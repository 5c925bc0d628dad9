package io.lccheckpoint.encoder;

import io.lccheckpoint.schema.CheckpointKey;
import io.lccheckpoint.schema.DeadLetter;
import io.lccheckpoint.schema.RecordKind;
import io.lccheckpoint.schema.kafka.SingleObjectSerde;
import io.lccheckpoint.schema.kafka.WireFormat;
import java.nio.charset.StandardCharsets;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** How processors hand records to the sinks: the job travels in a header, from which the sink picks the job's topic. */
final class Outputs {
    static final String JOB_HEADER = "lcckpt-job";
    /** The dead-letter sink's topic, chosen by the processor. */
    static final String TOPIC_HEADER = "lcckpt-topic";
    static final String CHECKPOINT_SINK = "checkpoint-sink";
    static final String DEAD_LETTER_SINK = "dead-letter-sink";
    static final String PROGRESS_SINK = "progress-sink";
    static final String MARKER_SINK = "marker-sink";
    static final String HANDOVER_SINK = "handover-sink";
    static final String INDEX_SINK = "index-sink";
    private static final Logger LOG = LoggerFactory.getLogger(Outputs.class);

    private Outputs() {
    }

    static CheckpointKey key(String job, RecordKind kind, String tensor, int chunk, long generation, long step) {
        return new CheckpointKey(job, kind, tensor, chunk, generation, step);
    }

    static void checkpoint(ProcessorContext<byte[], byte[]> context, WireFormat wire, long timestamp, CheckpointKey key, SpecificRecord value) {
        checkpoint(context, wire, CHECKPOINT_SINK, timestamp, key, value);
    }

    static void checkpoint(ProcessorContext<byte[], byte[]> context, WireFormat wire, String sink, long timestamp, CheckpointKey key,
                           SpecificRecord value) {
        forward(context, sink, key.getJob(), wire.encode(key), value == null ? null : wire.encode(value), timestamp);
    }

    static void handover(ProcessorContext<byte[], byte[]> context, WireFormat wire, long timestamp, io.lccheckpoint.schema.ChunkKey key,
                         SpecificRecord value) {
        forward(context, HANDOVER_SINK, key.getJob(), wire.encode(key), wire.encode(value), timestamp);
    }

    /** The progress topic is internal to the encoder: always single-object encoding, no registry round trip. */
    static void progress(ProcessorContext<byte[], byte[]> context, long timestamp, String job, SpecificRecord notice) {
        forward(context, PROGRESS_SINK, job, job.getBytes(StandardCharsets.UTF_8), SingleObjectSerde.encode(notice), timestamp);
    }

    static void deadLetter(ProcessorContext<byte[], byte[]> context, WireFormat wire, long timestamp, DeadLetter letter, String topic) {
        LOG.warn("dead letter to {}: job {} generation {} step {} tensor {} chunk {}: {} (from {}-{}@{})", topic, letter.getJob(), letter.getGeneration(),
                letter.getStep(), letter.getTensor(), letter.getChunk(), letter.getReason(), letter.getSourceTopic(),
                letter.getSourcePartition(), letter.getSourceOffset());
        String job = letter.getJob() == null ? "unknown" : letter.getJob();
        RecordHeaders headers = new RecordHeaders();
        headers.add(JOB_HEADER, job.getBytes(StandardCharsets.UTF_8));
        headers.add(TOPIC_HEADER, topic.getBytes(StandardCharsets.UTF_8));
        context.forward(new Record<>(job.getBytes(StandardCharsets.UTF_8), wire.encode(letter), timestamp, headers), DEAD_LETTER_SINK);
    }

    /**
     * Output records carry the time they were made (the processors read the clock once per input record, before its first
     * output; not Streams' cached time, which all records of a poll loop share, nor the trainer's): within a partition
     * that makes timestamps grow with offsets, so a restore can seek with offsetsForTimes to where a superstep's records
     * start (restore pushdown) even when the encoder was catching up when it wrote them.
     */
    private static void forward(ProcessorContext<byte[], byte[]> context, String sink, String job, byte[] key, byte[] value, long timestamp) {
        RecordHeaders headers = new RecordHeaders();
        headers.add(JOB_HEADER, job.getBytes(StandardCharsets.UTF_8));
        context.forward(new Record<>(key, value, timestamp, headers), sink);
    }
}
