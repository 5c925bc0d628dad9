package io.lccheckpoint.schema.kafka;

import io.lccheckpoint.schema.CheckpointKey;
import io.lccheckpoint.schema.ChunkKey;
import io.lccheckpoint.schema.DeadLetter;
import java.util.Map;
import java.util.regex.Pattern;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;

/**
 * One typed registry of lc-checkpoint's topics, shared by the producer, the encoder and the restorer. Topics are per
 * job, so restoring job A reads no record of job B and access can be granted per job with prefixed ACLs on
 * {@code <prefix>.<job>.}:
 * <ul>
 *   <li>{@code <prefix>.<job>.raw-deltas}: trainers → encoder; key {@link ChunkKey}; values RawDeltaChunk and StepManifest</li>
 *   <li>{@code <prefix>.<job>.checkpoints}: compacted; key {@link CheckpointKey}; values StepManifest, EncodedChunkRecord,
 *       SuperstepChunk, StepComplete, or a tombstone</li>
 *   <li>{@code <prefix>.<job>.dead-letters}: records the pipeline could not use; key: the job; value {@link DeadLetter}</li>
 * </ul>
 */
public final class Topics {
    public static final String DEFAULT_PREFIX = "lcckpt";
    private static final Pattern JOB = Pattern.compile("[A-Za-z0-9_-]{1,100}");

    public record Topic<K, V>(String name, Serde<K> keySerde, Serde<V> valueSerde) {
    }

    private final String prefix;

    public Topics(String prefix) {
        if (!prefix.matches("[A-Za-z0-9._-]+")) {
            throw new IllegalArgumentException("topic prefix '" + prefix + "' may only hold letters, digits, '.', '_' and '-'");
        }
        this.prefix = prefix;
    }

    public static String checkJob(String job) {
        if (job == null || !JOB.matcher(job).matches()) {
            throw new IllegalArgumentException("job name '" + job + "' must be 1-100 letters, digits, '_' or '-' (it names topics)");
        }
        return job;
    }

    public String prefix() {
        return prefix;
    }

    public Topic<ChunkKey, SpecificRecord> rawDeltas(String job) {
        return new Topic<>(prefix + "." + checkJob(job) + ".raw-deltas", new SingleObjectSerde<>(ChunkKey.class), SingleObjectSerde.anyRecord());
    }

    public Topic<CheckpointKey, SpecificRecord> checkpoints(String job) {
        return new Topic<>(prefix + "." + checkJob(job) + ".checkpoints", new SingleObjectSerde<>(CheckpointKey.class), SingleObjectSerde.anyRecord());
    }

    public Topic<String, DeadLetter> deadLetters(String job) {
        return new Topic<>(prefix + "." + checkJob(job) + ".dead-letters", Serdes.String(), new SingleObjectSerde<>(DeadLetter.class));
    }

    /** All jobs' raw-delta topics, for the encoder's subscription. */
    public Pattern rawDeltaPattern() {
        return Pattern.compile(Pattern.quote(prefix + ".") + "([A-Za-z0-9_-]+)" + Pattern.quote(".raw-deltas"));
    }

    /** The job a topic of this registry belongs to, or null. */
    public String jobOf(String topic) {
        String head = prefix + ".";
        if (!topic.startsWith(head)) {
            return null;
        }
        int dot = topic.indexOf('.', head.length());
        return dot < 0 ? null : topic.substring(head.length(), dot);
    }

    /** Topic configs: the checkpoint topic is compacted (DESIGN.md §3); records up to {@code maxRecordBytes}. */
    public static Map<String, String> checkpointTopicConfig(int maxRecordBytes) {
        return Map.of(TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT,
                TopicConfig.MAX_MESSAGE_BYTES_CONFIG, Integer.toString(maxRecordBytes));
    }

    public static Map<String, String> rawTopicConfig(int maxRecordBytes) {
        return Map.of(TopicConfig.MAX_MESSAGE_BYTES_CONFIG, Integer.toString(maxRecordBytes));
    }
}
