package io.lccheckpoint.schema.kafka;

import java.util.Map;
import java.util.regex.Pattern;
import org.apache.kafka.common.config.TopicConfig;

/**
 * One registry of lc-checkpoint's topic names and configs, shared by the producer, the encoder and the restorer (records
 * are framed by {@link WireFormat}). Topics are per job, so restoring job A reads no record of job B and access can be
 * granted per job with prefixed ACLs on {@code <prefix>.<job>.}:
 * <ul>
 *   <li>{@code <prefix>.<job>.raw-deltas}: trainers → encoder; key ChunkKey; values RawDeltaChunk and StepManifest</li>
 *   <li>{@code <prefix>.<job>.checkpoints}: compacted; key CheckpointKey; values StepManifest, EncodedChunkRecord,
 *       SuperstepChunk, StepComplete, or a tombstone</li>
 *   <li>{@code <prefix>.<job>.dead-letters}: records the pipeline could not use; key: the job; value DeadLetter</li>
 *   <li>{@code <prefix>.<job>.index}: compacted; the step-complete markers again (key CheckpointKey, value StepComplete
 *       or a tombstone), a few hundred bytes per retained step, for restores that read only what they need</li>
 *   <li>{@code <prefix>.<job>.handover}: compacted; encoder → trainer when the trainer takes over the coding of its
 *       chunks (split switch); key ChunkKey; value ChunkStateHandover</li>
 * </ul>
 * and the encoder's own {@code <prefix>.encoder-progress} and {@code <prefix>.encoder-dead-letters}.
 */
public final class Topics {
    public static final String DEFAULT_PREFIX = "lcckpt";
    private static final Pattern JOB = Pattern.compile("[A-Za-z0-9_-]{1,100}");

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

    public String rawDeltas(String job) {
        return prefix + "." + checkJob(job) + ".raw-deltas";
    }

    public String checkpoints(String job) {
        return prefix + "." + checkJob(job) + ".checkpoints";
    }

    public String deadLetters(String job) {
        return prefix + "." + checkJob(job) + ".dead-letters";
    }

    /** Compacted, small: the step-complete markers alone, so a restore finds its superstep without reading the checkpoints. */
    public String index(String job) {
        return prefix + "." + checkJob(job) + ".index";
    }

    /** The encoder's internal progress topic (one per prefix): a notice per coded chunk, keyed by job. */
    public String encoderProgress() {
        return prefix + ".encoder-progress";
    }

    /**
     * The encoder's own dead-letter topic (one per prefix, created when it starts): records it cannot route to a job's
     * dead-letter topic (a stray topic matching the raw-delta pattern, a job whose topics were not all created).
     */
    public String encoderDeadLetters() {
        return prefix + ".encoder-dead-letters";
    }

    public String handover(String job) {
        return prefix + "." + checkJob(job) + ".handover";
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
