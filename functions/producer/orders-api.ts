// Placeholder entry; replaced by the real handler in the pipeline-core work.
export const handler = async (): Promise<void> => {};
