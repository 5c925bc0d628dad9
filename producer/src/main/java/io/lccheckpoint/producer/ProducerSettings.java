package io.lccheckpoint.producer;

import io.lccheckpoint.schema.kafka.SharedSettings;
import java.util.HashMap;
import java.util.Map;
import org.apache.kafka.common.config.AbstractConfig;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigDef.Importance;
import org.apache.kafka.common.config.ConfigDef.Type;

/**
 * The producer's own settings ({@code lcckpt.*}). Every other key is handed to the Kafka producer unchanged
 * ({@code bootstrap.servers}, {@code security.protocol}, {@code sasl.*}, {@code ssl.*}, {@code client.id}, …).
 */
public final class ProducerSettings extends AbstractConfig {
    public static final String JOB_CONFIG = "lcckpt.job";
    private static final String JOB_DOC = "The training job: names its topics (<prefix>.<job>.*); letters, digits, '_' and '-'.";

    /** Shared with the encoder and the restorer ({@link SharedSettings}). */
    public static final String TOPIC_PREFIX_CONFIG = SharedSettings.TOPIC_PREFIX_CONFIG;
    public static final String TOPIC_PREFIX_DEFAULT = io.lccheckpoint.schema.kafka.Topics.DEFAULT_PREFIX;

    public static final String CHUNK_VALUES_CONFIG = "lcckpt.chunk.values";
    private static final String CHUNK_VALUES_DOC = "Values per chunk: the unit of coding and of Kafka records. 131072 float32 values"
            + " make a 512 KiB record; a float64 or int64 chunk of as many is 1 MiB, over the broker's default 1 MB limit, so the"
            + " producer creates the job's topics with max.message.bytes = 8 x this + 4096 and raises its max.request.size to match"
            + " (the topics of an encoder with another lcckpt.max.record.bytes must agree).";
    public static final int CHUNK_VALUES_DEFAULT = 131_072;

    public static final String BUFFER_MEMORY_CONFIG = "lcckpt.buffer.memory";
    private static final String BUFFER_MEMORY_DOC = "Bytes of raw values published but not yet committed before publish() blocks"
            + " (back-pressure; one step is always admitted), at most the Kafka producer's max.block.ms (default 60000), after"
            + " which publish throws PublishTimeoutException and takes nothing. Steps waiting when a transaction starts share it.";
    public static final long BUFFER_MEMORY_DEFAULT = 64L << 20;

    public static final String GENERATION_CONFIG = "lcckpt.generation";
    private static final String GENERATION_DOC = "Generation of the chain this producer starts; -1 (default) takes the current time in"
            + " milliseconds, so a restarted trainer's generation is newer than the crashed one's.";

    public static final String CREATE_TOPICS_CONFIG = "lcckpt.create.topics";
    private static final String CREATE_TOPICS_DOC = "Create the job's topics with their configs (compacted checkpoints) if missing.";

    public static final String TOPIC_PARTITIONS_CONFIG = "lcckpt.topic.partitions";
    private static final String TOPIC_PARTITIONS_DOC = "Partitions of a created raw-delta topic: the encoder's parallelism for the job."
            + " A new job may not have more than the other jobs on its topic prefix (the encoder's changelogs are partitioned like"
            + " the raw topics it found first, and Kafka Streams would stop it for every job): it is refused, naming the topic.";

    public static final String TOPIC_REPLICATION_CONFIG = "lcckpt.topic.replication.factor";
    private static final String TOPIC_REPLICATION_DOC = "Replication factor of created topics (-1: the broker's default).";

    /** Prefix of topic configs for a created checkpoint topic, e.g. {@code lcckpt.checkpoint.topic.segment.ms}. */
    public static final String CHECKPOINT_TOPIC_PREFIX = "lcckpt.checkpoint.topic.";

    public static final String SPLIT_CONFIG = "lcckpt.split";
    private static final String SPLIT_DOC = "Where the codec's stages run (DESIGN.md §6): storage (the encoder codes raw deltas), trainer (this"
            + " producer codes and keeps the residual; fewer bytes on the network, CPU on the trainer's side) or auto (a cost model"
            + " over measured bandwidth, coding speed and step time picks one and re-plans as they drift).";

    public static final String SPLIT_CPU_BUDGET_CONFIG = "lcckpt.split.cpu.budget";
    private static final String SPLIT_CPU_BUDGET_DOC = "split=auto: coding on the trainer may take at most this fraction of one core per step"
            + " (all of the producer's coding threads, lcckpt.codec.threads, counted; measured as the least CPU time of the last 5 coded steps, as the first after a"
            + " switch run cold); beyond it the storage split is chosen (leaving the trainer split for the budget takes the"
            + " hysteresis margin too).";

    public static final String SPLIT_REPLAN_STEPS_CONFIG = "lcckpt.split.replan.steps";
    private static final String SPLIT_REPLAN_STEPS_DOC = "split=auto: steps between two plans (and between two switches).";

    public static final String SPLIT_HYSTERESIS_CONFIG = "lcckpt.split.hysteresis";
    private static final String SPLIT_HYSTERESIS_DOC = "split=auto: the other split must be predicted this much faster (0.1 = 10%) to switch; twice this when it has not"
            + " run in the last 5 plans (its prediction is the model's alone).";

    public static final String SPLIT_HANDOVER_TIMEOUT_CONFIG = "lcckpt.split.handover.timeout.ms";
    private static final String SPLIT_HANDOVER_TIMEOUT_DOC = "How long to wait for the encoder to hand a chunk's state over when switching"
            + " to split=trainer; after it, the step fails with an error naming the job and step.";

    public static final String WRITE_CHECKPOINTS_CONFIG = "lcckpt.write.checkpoints";
    private static final String WRITE_CHECKPOINTS_DOC = "true (default): this producer writes the records it can make itself straight to the job's"
            + " checkpoint topic, in the step's transaction, with a small notice per record on the raw-delta topic: each initial"
            + " state (the superstep the encoder would write) and, with split=trainer/auto, each chunk it codes. The brokers then"
            + " write those bytes once. Needs WRITE on <prefix>.<job>.checkpoints. false: everything goes to the raw-delta topic"
            + " and the encoder copies it to the checkpoint topic (written twice).";

    /** Shared with the encoder ({@link SharedSettings}): a trainer coding its own chunks codes as the encoder does. */
    public static final String CODEC_PROMOTION_BITS_CONFIG = SharedSettings.CODEC_PROMOTION_BITS_CONFIG;
    public static final String CODEC_ENTROPY_CONFIG = SharedSettings.CODEC_ENTROPY_CONFIG;

    public static final String CODEC_TENSOR_OPTIONS_CONFIG = "lcckpt.codec.tensor.options";
    static final String CODEC_TENSOR_OPTIONS_DOC = "Groups of float tensors coded their own way, e.g."
            + " `*.exp_avg=bits=3;*.exp_avg_sq=bits=4,entropy=huffman;*.running_*=exact`: `;`-separated `<glob>=<coding>` entries,"
            + " the glob over tensor names (`*` any characters, `?` one), the coding `exact` (lossless: the values' bit patterns,"
            + " cheap only while they do not change) or options `bits`, `entropy` (huffman, zero_run) and `reuse`, missing ones"
            + " taken from `lcckpt.codec.*`; the first matching entry wins, other tensors use `lcckpt.codec.*`. The records carry"
            + " each tensor's coding, so the encoder codes them so too and a restore needs none. Integer and bool tensors are"
            + " always stored exactly.";

    public static final String CODEC_THREADS_CONFIG = "lcckpt.codec.threads";
    private static final String CODEC_THREADS_DOC = "Threads that code a step's chunks on the trainer (split=trainer/auto); 0 (default):"
            + " half the available cores, at least 1. The records are the same bytes for any number. Each thread codes about"
            + " 0.2-0.9 GB/s of float32 deltas on the development machine (README, Figures we measured), and split=auto counts the CPU"
            + " time of all of them.";
    public static final int CODEC_THREADS_DEFAULT = 0;

    static final ConfigDef CONFIG = SharedSettings.defineCodecOptions(SharedSettings.defineTopicPrefix(new ConfigDef()))
            .define(SPLIT_CONFIG, Type.STRING, "storage", ConfigDef.ValidString.in("storage", "trainer", "auto"), Importance.HIGH, SPLIT_DOC)
            .define(SPLIT_CPU_BUDGET_CONFIG, Type.DOUBLE, 1.0, ConfigDef.Range.atLeast(0), Importance.MEDIUM, SPLIT_CPU_BUDGET_DOC)
            .define(SPLIT_REPLAN_STEPS_CONFIG, Type.INT, 20, ConfigDef.Range.atLeast(1), Importance.LOW, SPLIT_REPLAN_STEPS_DOC)
            .define(SPLIT_HYSTERESIS_CONFIG, Type.DOUBLE, 0.1, ConfigDef.Range.atLeast(0), Importance.LOW, SPLIT_HYSTERESIS_DOC)
            .define(SPLIT_HANDOVER_TIMEOUT_CONFIG, Type.LONG, 300_000L, ConfigDef.Range.atLeast(1), Importance.LOW, SPLIT_HANDOVER_TIMEOUT_DOC)
            .define(WRITE_CHECKPOINTS_CONFIG, Type.BOOLEAN, true, Importance.LOW, WRITE_CHECKPOINTS_DOC)
            .define(CODEC_TENSOR_OPTIONS_CONFIG, Type.STRING, "", Importance.MEDIUM, CODEC_TENSOR_OPTIONS_DOC)
            .define(CODEC_THREADS_CONFIG, Type.INT, CODEC_THREADS_DEFAULT, ConfigDef.Range.between(0, 1024), Importance.MEDIUM, CODEC_THREADS_DOC)
            .define(JOB_CONFIG, Type.STRING, ConfigDef.NO_DEFAULT_VALUE, new ConfigDef.NonEmptyString(), Importance.HIGH, JOB_DOC)
            .define(CHUNK_VALUES_CONFIG, Type.INT, CHUNK_VALUES_DEFAULT, ConfigDef.Range.between(1, 1 << 24), Importance.MEDIUM, CHUNK_VALUES_DOC)
            .define(BUFFER_MEMORY_CONFIG, Type.LONG, BUFFER_MEMORY_DEFAULT, ConfigDef.Range.atLeast(1024), Importance.MEDIUM, BUFFER_MEMORY_DOC)
            .define(GENERATION_CONFIG, Type.LONG, -1L, ConfigDef.Range.atLeast(-1), Importance.LOW, GENERATION_DOC)
            .define(CREATE_TOPICS_CONFIG, Type.BOOLEAN, true, Importance.LOW, CREATE_TOPICS_DOC)
            .define(TOPIC_PARTITIONS_CONFIG, Type.INT, 4, ConfigDef.Range.atLeast(1), Importance.LOW, TOPIC_PARTITIONS_DOC)
            .define(TOPIC_REPLICATION_CONFIG, Type.SHORT, (short) -1, ConfigDef.Range.atLeast(-1), Importance.LOW, TOPIC_REPLICATION_DOC);

    public ProducerSettings(Map<String, ?> originals) {
        super(CONFIG, originals, false);
    }

    /** {@link #CODEC_THREADS_CONFIG} resolved: 0 is half the available cores, at least 1. */
    public int codecThreads() {
        int threads = getInt(CODEC_THREADS_CONFIG);
        return threads > 0 ? threads : Math.max(1, Runtime.getRuntime().availableProcessors() / 2);
    }

    public static ConfigDef configDef() {
        return CONFIG;
    }

    /** Everything that is not {@code lcckpt.*}: the Kafka client's settings, passed through unchanged. */
    public Map<String, Object> kafkaSettings() {
        Map<String, Object> kafka = new HashMap<>();
        originals().forEach((key, value) -> {
            if (!key.startsWith("lcckpt.")) {
                kafka.put(key, value);
            }
        });
        return kafka;
    }
}
