/** CMI teachers: public surface of src/engine/teachers. */
export type { Teacher, TeacherPool, TeacherStore, SerializedTeacher, TeacherModelJson } from './types';
export {
  trainTeacherPool,
  loadOrTrainTeacherPool,
  makeTeacherPool,
  teacherPoolKeyFor,
  teacherSpec,
  TeacherTrainingStopped,
  type TeacherPoolOptions,
  type LoadedTeacherPool,
} from './pool';
export { teacherPoolKey, type TeacherKeyInput } from './key';
export { serializeTeacher, deserializeTeacher, WEIGHTS_FILE } from './serialize';
export { memoryTeacherStore, folderTeacherStore, type FolderIO } from './store';
export { idbTeacherStore } from './idbStore';
export { trainTeacher, type TeacherTrainOptions, type TrainedTeacher } from './train';
