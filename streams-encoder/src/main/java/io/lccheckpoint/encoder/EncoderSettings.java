package io.lccheckpoint.encoder;

import io.lccheckpoint.codec.CodecOptions;
import io.lccheckpoint.codec.EntropyMode;
import io.lccheckpoint.schema.kafka.SharedSettings;
import io.lccheckpoint.schema.kafka.WireFormat;
import java.util.HashMap;
import java.util.Map;
import org.apache.kafka.common.config.AbstractConfig;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigDef.Importance;
import org.apache.kafka.common.config.ConfigDef.Type;

/**
 * The encoder's own settings ({@code lcckpt.*}); every other key goes to Kafka Streams unchanged (so
 * {@code security.protocol}, {@code sasl.*}, {@code ssl.*}, {@code client.id}, {@code producer.*}, … pass through).
 */
public final class EncoderSettings extends AbstractConfig {
    /** Shared with the producers and the restorer ({@link SharedSettings}). */
    public static final String TOPIC_PREFIX_CONFIG = SharedSettings.TOPIC_PREFIX_CONFIG;
    /** Shared with producers that code their own chunks ({@link SharedSettings}). */
    public static final String PROMOTION_BITS_CONFIG = SharedSettings.CODEC_PROMOTION_BITS_CONFIG;
    public static final String ENTROPY_CONFIG = SharedSettings.CODEC_ENTROPY_CONFIG;
    public static final String SUPERSTEP_INTERVAL_CONFIG = "lcckpt.superstep.interval";
    private static final String SUPERSTEP_INTERVAL_DOC = "With lcckpt.superstep.policy=steps: a superstep whenever the step crosses a multiple of this. With bytes: while"
            + " the encoder holds a chunk's residual, it also writes the chunk's reconstruction and residual to its changelogged"
            + " book whenever the step crosses a multiple of this, so a rebuild replays, and the raw-delta topic keeps, at most"
            + " about this many steps.";
    public static final String SUPERSTEP_RETAIN_CONFIG = "lcckpt.superstep.retain";
    private static final String SUPERSTEP_RETAIN_DOC = "Supersteps kept as restore points; records only older restore points need are tombstoned.";
    public static final String SUPERSTEP_POLICY_CONFIG = "lcckpt.superstep.policy";
    private static final String SUPERSTEP_POLICY_DOC = "When a chunk takes a superstep (its full reconstruction, lossless): bytes (once its coded records since its last"
            + " superstep reach lcckpt.superstep.bytes.ratio times a superstep's size: supersteps are at most 1 / (1 + ratio)"
            + " of the checkpoint topic, and a restore reads at most 1 + ratio full states) or steps (whenever the step"
            + " crosses a multiple of lcckpt.superstep.interval).";
    public static final String SUPERSTEP_BYTES_RATIO_CONFIG = "lcckpt.superstep.bytes.ratio";
    private static final String SUPERSTEP_BYTES_RATIO_DOC = "With lcckpt.superstep.policy=bytes: coded bytes a chunk accumulates, in multiples of a superstep's size,"
            + " before its next superstep.";
    public static final String MAX_RECORD_BYTES_CONFIG = "lcckpt.max.record.bytes";
    private static final String MAX_RECORD_BYTES_DOC = "Largest record (a superstep chunk): sets the topics' max.message.bytes and the producer's max.request.size.";
    public static final String PROGRESS_PARTITIONS_CONFIG = "lcckpt.progress.partitions";
    private static final String PROGRESS_PARTITIONS_DOC = "Partitions of the progress topic (completion counting is spread over jobs).";
    public static final String STATE_STORE_CONFIG = "lcckpt.state.store";
    private static final String STATE_STORE_DOC = "Where chunks' working states live: rocksdb (on disk, the default) or memory (heap: 2x the models' size per"
            + " instance); neither is changelogged (a fail-over rebuilds them from the chunks' books and the logs).";
    public static final String MEMORY_BUDGET_CONFIG = "lcckpt.memory.budget";
    private static final String MEMORY_BUDGET_DOC = "Bytes of memory the encoder may use (DESIGN.md §6), -1 for Kafka's defaults. Shared out as: chunks being coded 30%"
            + " (admitted by their modelled cost, fixed + per value: a chunk that does not fit waits), record cache 15%, input"
            + " buffers 25%, fetches 10%, producer buffer 10%, RocksDB block cache and write buffers 10% (off-heap). Needs"
            + " lcckpt.state.store=rocksdb. Settings the user gives explicitly win over the derived ones.";
    /**
     * How {@code lcckpt.memory.budget} is shared out (its doc says the same): chunks being coded, the record cache, input
     * buffers, fetches, the producer's buffer and RocksDB (off-heap). Defined once here for the topology, the derived
     * client settings and the logs.
     */
    public enum MemoryShare {
        CHUNKS_IN_FLIGHT(0.30), RECORD_CACHE(0.15), INPUT_BUFFERS(0.25), FETCHES(0.10), PRODUCER_BUFFER(0.10), ROCKSDB(0.10);

        private final double fraction;

        MemoryShare(double fraction) {
            this.fraction = fraction;
        }

        /** This share of {@code budget} bytes. */
        public double of(long budget) {
            return fraction * budget;
        }
    }

    public static final String MEMORY_PARTITIONS_CONFIG = "lcckpt.memory.partitions";
    private static final String MEMORY_PARTITIONS_DOC = "With a memory budget: the raw-delta partitions the input buffers are sized for (all jobs' together).";
    public static final String HEALTH_PORT_CONFIG = "lcckpt.health.port";
    private static final String HEALTH_PORT_DOC = "Port of the health endpoint (-1: none; 0: any free port, logged): GET /health/live answers 200 unless the encoder"
            + " has failed (Streams state PENDING_ERROR, ERROR or NOT_RUNNING), GET /health/ready 200 only while Streams is"
            + " RUNNING; both give the state as JSON.";
    public static final String HEALTH_ADDRESS_CONFIG = "lcckpt.health.address";
    private static final String HEALTH_ADDRESS_DOC = "Address the health endpoint listens on.";
    public static final String STALL_EXIT_MS_CONFIG = "lcckpt.stall.exit.ms";
    private static final String STALL_EXIT_MS_DOC = "A stream thread stuck this long in one call (a commit or a write waiting for brokers that are gone) makes the"
            + " encoder exit with code 4, so a supervisor restarts it; must be below producer.max.block.ms (the"
            + " encoder's default 900000), so that Streams never handles a producer timeout itself (see the README's"
            + " reliability section).";

    static final ConfigDef CONFIG = SharedSettings.defineCodecOptions(SharedSettings.defineTopicPrefix(new ConfigDef()))
            .define(SUPERSTEP_POLICY_CONFIG, Type.STRING, "bytes", ConfigDef.ValidString.in("bytes", "steps"), Importance.HIGH, SUPERSTEP_POLICY_DOC)
            .define(SUPERSTEP_BYTES_RATIO_CONFIG, Type.DOUBLE, 2.0, ConfigDef.Range.atLeast(0.1), Importance.MEDIUM, SUPERSTEP_BYTES_RATIO_DOC)
            .define(SUPERSTEP_INTERVAL_CONFIG, Type.INT, 50, ConfigDef.Range.atLeast(1), Importance.HIGH, SUPERSTEP_INTERVAL_DOC)
            .define(SUPERSTEP_RETAIN_CONFIG, Type.INT, 3, ConfigDef.Range.atLeast(1), Importance.HIGH, SUPERSTEP_RETAIN_DOC)
            .define(MAX_RECORD_BYTES_CONFIG, Type.INT, 8 * 131_072 + 4096, ConfigDef.Range.atLeast(1 << 16), Importance.LOW, MAX_RECORD_BYTES_DOC)
            .define(PROGRESS_PARTITIONS_CONFIG, Type.INT, 4, ConfigDef.Range.atLeast(1), Importance.LOW, PROGRESS_PARTITIONS_DOC)
            .define(STATE_STORE_CONFIG, Type.STRING, "rocksdb", ConfigDef.ValidString.in("rocksdb", "memory"), Importance.LOW, STATE_STORE_DOC)
            .define(MEMORY_BUDGET_CONFIG, Type.LONG, -1L, ConfigDef.Range.atLeast(-1), Importance.HIGH, MEMORY_BUDGET_DOC)
            .define(MEMORY_PARTITIONS_CONFIG, Type.INT, 64, ConfigDef.Range.atLeast(1), Importance.LOW, MEMORY_PARTITIONS_DOC)
            .define(HEALTH_PORT_CONFIG, Type.INT, -1, ConfigDef.Range.between(-1, 65535), Importance.MEDIUM, HEALTH_PORT_DOC)
            .define(HEALTH_ADDRESS_CONFIG, Type.STRING, "0.0.0.0", Importance.LOW, HEALTH_ADDRESS_DOC)
            .define(STALL_EXIT_MS_CONFIG, Type.LONG, 600_000L, ConfigDef.Range.atLeast(1000), Importance.MEDIUM, STALL_EXIT_MS_DOC);

    public EncoderSettings(Map<String, ?> originals) {
        super(CONFIG, originals, false);
    }

    public static ConfigDef configDef() {
        return CONFIG;
    }

    public CodecOptions codecOptions() {
        return new CodecOptions(getInt(PROMOTION_BITS_CONFIG), EntropyMode.valueOf(getString(ENTROPY_CONFIG)));
    }

    /** The Confluent framing through a registry if {@code schema.registry.url} is set, else single-object encoding. */
    public WireFormat wireFormat() {
        return WireFormat.fromConfig(originals());
    }

    public Map<String, Object> streamsSettings() {
        Map<String, Object> streams = new HashMap<>();
        originals().forEach((key, value) -> {
            if (!key.startsWith("lcckpt.") && !WireFormat.isWireFormatSetting(key)) {
                streams.put(key, value);
            }
        });
        return streams;
    }
}
